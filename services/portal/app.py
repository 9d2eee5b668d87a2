"""The portal's Starlette app, built from its collaborators (nothing at import time)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.portal import pages, submit
from services.portal.api import (
    ApiUnavailableError,
    ForbiddenError,
    NotFoundError,
    SignedOutError,
)
from services.portal.messages import N_
from services.portal.security import SESSION_COOKIE, SecurityHeaders, UploadLimit
from services.portal.web import (
    CsrfRefusedError,
    ForbiddenPageError,
    Portal,
    SignInRequiredError,
    redirect,
)
from shared.health import health_routes

STATIC = Path(__file__).parent / "static"
FORM_OVERHEAD_BYTES = 64 * 1024
"""A multipart body is the file plus the form's other fields and boundaries."""


class RequestMetrics:
    """``pacer_portal_requests_total`` and ``pacer_portal_request_duration_seconds`` by the
    handler that answered (its name, never the path: paths hold report ids)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "pacer_portal_requests", "Portal requests answered", ["handler", "status"],
            registry=registry,
        )  # fmt: skip
        self.duration = Histogram(
            "pacer_portal_request_duration_seconds", "Time to answer a portal request",
            ["handler"], registry=registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5),
        )  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            endpoint = scope.get("endpoint")
            handler = getattr(endpoint, "__name__", "static" if "app" in scope else "none")
            self.requests.labels(handler, str(status)).inc()
            self.duration.labels(handler).observe(time.perf_counter() - started)


def create_app(portal: Portal, registry: CollectorRegistry | None = None) -> Starlette:
    registry = registry or CollectorRegistry()
    sessions = Gauge("pacer_portal_sessions", "Signed-in portal sessions", registry=registry)
    sessions.set_function(lambda: len(portal.sessions))

    def page(status: int, title: str) -> object:
        async def handler(request: Request, _: Exception) -> Response:
            return portal.render(request, "error.html", status=status, title=title, code=status)

        return handler

    async def sign_in_first(request: Request, _: Exception) -> Response:
        return redirect("/signin")

    async def signed_out(request: Request, _: Exception) -> Response:
        portal.sessions.drop(request.cookies.get(SESSION_COOKIE))
        response = redirect("/signin")
        portal.clear_cookie(response, SESSION_COOKIE)
        return response

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return portal.render(request, "error.html", status=status, title=N_("Error"), code=status)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await portal.api.aclose()

    routes = [
        *pages.routes(portal),
        *submit.routes(portal),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        *health_routes(portal.api.ready, registry),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(RequestMetrics, registry=registry),
            Middleware(SecurityHeaders),
            Middleware(UploadLimit, max_bytes=portal.max_upload_bytes + FORM_OVERHEAD_BYTES),
        ],
        exception_handlers={
            SignInRequiredError: sign_in_first,
            SignedOutError: signed_out,
            CsrfRefusedError: page(403, N_("The form has expired")),  # type: ignore[dict-item]
            ForbiddenPageError: page(403, N_("Not allowed")),  # type: ignore[dict-item]
            ForbiddenError: page(403, N_("Not allowed")),  # type: ignore[dict-item]
            NotFoundError: page(404, N_("Not found")),  # type: ignore[dict-item]
            ApiUnavailableError: page(503, N_("Pacer does not answer")),  # type: ignore[dict-item]
            HTTPException: http_error,
            Exception: page(500, N_("Error")),  # type: ignore[dict-item]
        },
    )
