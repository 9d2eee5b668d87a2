"""Runs a service's ASGI app the same way for every service."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp


def serve_http(app: ASGIApp, host: str, port: int) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests get 5 s to finish."""
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
