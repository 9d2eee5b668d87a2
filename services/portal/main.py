"""Composition root of the portal: settings -> the API client, sessions, targets -> HTTP app."""

from __future__ import annotations

from services.portal.api import PacerApi
from services.portal.app import create_app
from services.portal.security import CsrfTokens
from services.portal.sessions import SessionStore
from services.portal.web import Portal
from shared.runtime_metrics import service_registry
from shared.serving import serve_http
from shared.settings import Settings
from shared.targets import load_targets


def build_portal(settings: Settings) -> Portal:
    return Portal(
        api=PacerApi(settings.ingest_url),
        sessions=SessionStore(settings.portal_session_idle_s),
        csrf=CsrfTokens(),
        targets=load_targets(settings.targets_file),
        clock=settings.make_clock(),
        max_upload_bytes=settings.portal_max_upload_bytes,
        secure_cookies=settings.portal_secure_cookies,
    )


def main(settings: Settings) -> None:
    # Behind a proxy listed in PACER_TRUSTED_PROXIES the sign-in throttle counts per client
    # address from X-Forwarded-For, not per proxy.
    serve_http(
        create_app(build_portal(settings), registry=service_registry()),
        settings.bind,
        settings.portal_port,
        trusted_proxies=settings.trusted_proxy_list,
    )
