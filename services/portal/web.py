"""What every page handler needs, built once by the composition root: the API, the sessions,
the CSRF keys, the templates per language, and how a page is rendered and a form is checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from services.portal import messages
from services.portal.api import PacerApi
from services.portal.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Language,
    Translator,
    load_translations,
)
from services.portal.security import CSRF_COOKIE, LANGUAGE_COOKIE, SESSION_COOKIE, CsrfTokens
from services.portal.sessions import Session, SessionStore, SignInThrottle
from shared.clock import Clock
from shared.domain.targets import Targets

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGE_COOKIE_MAX_AGE_S = 365 * 24 * 3600
MAX_FORM_FIELDS = 20


class CsrfRefusedError(Exception):
    """A POST without the form's CSRF token (or with another visitor's)."""


class SignInRequiredError(Exception):
    """No session: the person is sent to the sign-in page."""


class ForbiddenPageError(Exception):
    """Signed in, but this token may not see or do this."""


def environment(language: Language) -> tuple[jinja2.Environment, Translator]:
    translator = Translator(language, load_translations(language))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        translator.gettext, translator.ngettext, newstyle=True
    )
    env.globals.update(t=translator, m=messages)
    return env, translator


@dataclass
class Portal:
    api: PacerApi
    sessions: SessionStore
    csrf: CsrfTokens
    targets: Targets
    clock: Clock
    max_upload_bytes: int
    secure_cookies: bool = False
    sign_ins: SignInThrottle = field(default_factory=SignInThrottle)

    def __post_init__(self) -> None:
        built = {language: environment(language) for language in LANGUAGES}
        self.environments = {language: env for language, (env, _) in built.items()}
        self.translators = {language: t for language, (_, t) in built.items()}

    # --- who and in which language ---------------------------------------------------------

    def language(self, request: Request) -> Language:
        chosen = request.cookies.get(LANGUAGE_COOKIE)
        return "en" if chosen == "en" else DEFAULT_LANGUAGE

    def translator(self, request: Request) -> Translator:
        return self.translators[self.language(request)]

    def session(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    def signed_in(self, request: Request) -> Session:
        session = self.session(request)
        if session is None:
            raise SignInRequiredError()
        return session

    # --- pages -----------------------------------------------------------------------------

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        cookie = request.cookies.get(CSRF_COOKIE)
        new_cookie = None if cookie else self.csrf.new_cookie()
        language = self.language(request)
        page = (
            self.environments[language]
            .get_template(template)
            .render(
                request_path=request.url.path,
                csrf_token=self.csrf.token_for(cookie or new_cookie or ""),
                session=context.pop("session", None) or self.session(request),
                cities=self.targets.cities,
                **context,
            )
        )
        response = HTMLResponse(page, status_code=status)
        if new_cookie:
            self.set_cookie(response, CSRF_COOKIE, new_cookie)
        return response

    def set_cookie(
        self, response: Response, name: str, value: str, max_age: int | None = None
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="strict",
            secure=self.secure_cookies,
        )

    def clear_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(
            name, path="/", httponly=True, samesite="strict", secure=self.secure_cookies
        )

    async def form(self, request: Request) -> FormData:
        """The POSTed form, once its CSRF token is checked (CsrfRefusedError otherwise)."""
        form = await request.form(
            max_files=1, max_fields=MAX_FORM_FIELDS, max_part_size=self.max_upload_bytes
        )
        token = form.get("csrf_token")
        if not self.csrf.valid(
            request.cookies.get(CSRF_COOKIE), token if isinstance(token, str) else None
        ):
            raise CsrfRefusedError()
        return form


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def local_path(candidate: object, default: str = "/") -> str:
    """``candidate`` if it is a path on this site (never another host: no open redirect)."""
    if not isinstance(candidate, str) or not candidate.startswith("/"):
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or candidate.startswith("//") or "\\" in candidate:
        return default
    return candidate
