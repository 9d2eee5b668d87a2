"""Builds the ingest's FastAPI app from its collaborators (no globals, nothing at import time)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.ingest import routes_alerts, routes_progress, routes_reports, routes_subscriptions
from services.ingest.context import IngestContext
from services.ingest.errors import install_error_handlers
from services.ingest.limits import BodyLimitMiddleware
from services.ingest.observability import RequestMetrics, RequestMetricsMiddleware
from shared.health import health_routes, redis_ping_check
from shared.store.groups import ensure_groups
from shared.wire import GigabitReport, SitesReport


def create_app(
    ctx: IngestContext, max_body_bytes: int, registry: CollectorRegistry | None = None
) -> FastAPI:
    registry = registry or CollectorRegistry()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Groups before the first append. If Redis is down now, the accept script creates them.
        with contextlib.suppress(Exception):
            await ensure_groups(ctx.redis)
        yield
        await ctx.redis.aclose()

    app = FastAPI(
        title="Pacer ingest API",
        version="1",
        description="Cities submit gigabit and 5G-site reports; any token holder reads progress.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    app.include_router(routes_reports.router)
    app.include_router(routes_progress.router)
    app.include_router(routes_subscriptions.router)
    app.include_router(routes_alerts.router)
    for route in health_routes(redis_ping_check(ctx.redis.ping), registry):
        app.router.routes.append(route)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(RequestMetricsMiddleware, metrics=RequestMetrics(registry))
    _publish_report_schemas(app)
    return app


def _publish_report_schemas(app: FastAPI) -> None:
    """Request bodies are parsed by hand (for 415/413 and exact error locs); list their schemas."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (SitesReport, GigabitReport):
            doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(doc.pop("$defs", {}))
            components[model.__name__] = doc
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
