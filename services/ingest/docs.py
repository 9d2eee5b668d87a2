"""``/docs`` (Swagger UI) with every file it loads served by the ingest itself.

FastAPI's own page loads its script, style and favicon from public CDNs: on an intranet without
them the page stays blank. The files come from the ``fastapi-offline`` package (Swagger UI 5),
pinned in the lock like any dependency, never copied into this repository; the page is FastAPI's,
pointed at them. There is no ``/redoc``: ReDoc fetches its logo from its vendor's CDN whatever
it is told.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs/assets"
SWAGGER_UI = {
    # Swagger UI would send the document to an online validator for its badge.
    "validatorUrl": None,
    "tryItOutEnabled": False,
    "persistAuthorization": False,
}


def install_docs(app: FastAPI) -> None:
    """Serve the page at ``/docs`` (create the app with ``docs_url`` and ``redoc_url`` None)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI,
        )
