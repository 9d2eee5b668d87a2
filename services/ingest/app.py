"""Builds the ingest's FastAPI app from its collaborators (no globals, nothing at import time)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import Receive, Scope, Send

from services.ingest import (
    routes_alerts,
    routes_history,
    routes_me,
    routes_progress,
    routes_reports,
    routes_subscriptions,
)
from services.ingest.context import IngestContext
from services.ingest.deadlines import RequestDeadlines
from services.ingest.docs import install_docs
from services.ingest.errors import ErrorsBody, error_responses, install_error_handlers
from services.ingest.gateway import Gateway
from services.ingest.limits import BodyLimit
from services.ingest.observability import RequestMetrics
from services.ingest.ratelimit import RateLimiter, RateLimitMetrics, TokenBuckets, caller_identity
from shared.health import health_routes, redis_readiness
from shared.store.groups import ensure_groups
from shared.wire import GigabitReport, SitesReport


class IngestApp(FastAPI):
    """The ingest's app: a report (``routes_reports.SubmitLane``) goes straight to a ``Gateway``
    of its own; every other request through FastAPI's layers to the same ``Gateway`` rules
    (shared metrics, rate limiter, deadlines and body limit) and its route.

    The lane skips FastAPI's and Starlette's outer layers too (five more per request, each also
    wrapping ``send`` or ``receive``). Their work for these routes: the app in the scope (set
    here), and a 500 for an exception nothing handled (uvicorn answers the same plain 500 and
    logs it, as the error middleware did)."""

    front: Gateway | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        front = self.front
        if front is not None and scope["type"] == "http":
            lane = front.lane_for(scope)
            if lane is not None:
                scope["app"] = self
                await front.serve(scope, receive, send, lane)
                return
        await super().__call__(scope, receive, send)

    async def pass_by(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The front gateway's app for what its lane does not serve (``__call__`` sends nothing
        else to it)."""
        await super().__call__(scope, receive, send)


def create_app(
    ctx: IngestContext,
    max_body_bytes: int,
    registry: CollectorRegistry | None = None,
    *,
    rate_limit_rps: float = 0.0,
    rate_limit_burst: int = 1,
    body_timeout_s: float = 60.0,
    request_timeout_s: float = 30.0,
) -> FastAPI:
    registry = registry or CollectorRegistry()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Groups before the first append. If Redis is down now, the accept script creates them.
        with contextlib.suppress(Exception):
            await ensure_groups(ctx.redis)
        yield
        await ctx.redis.aclose()

    app = IngestApp(
        title="Pacer ingest API",
        version="1",
        description="Cities submit gigabit and 5G-site reports; any token holder reads progress.",
        lifespan=lifespan,
        # A path with a trailing slash is a 404 like any unknown path: Starlette's redirect to
        # the path without it built its Location from the request's Host header, before
        # authentication (an open redirect for whoever controls Host in front of Pacer).
        redirect_slashes=False,
        # /docs is install_docs's, its files from a package instead of public CDNs; no /redoc.
        docs_url=None,
        redoc_url=None,
        # Pacer's request metrics are its own (observability.py, Prometheus). FastAPI's native
        # OpenTelemetry, unconfigured here, still asked three global providers on every request
        # whether it was (~3 % of the app's CPU per report; bench/NOTES-ingest-latency.md).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    for module in (
        routes_reports,
        routes_progress,
        routes_history,
        routes_subscriptions,
        routes_alerts,
        routes_me,
    ):
        # Every API route needs a token, is rate limited per token, and reads or writes Redis.
        app.include_router(module.router, responses=error_responses(401, 429, 503))
    for route in health_routes(redis_readiness(ctx.redis), registry):
        app.router.routes.append(route)
    app.state.request_metrics = RequestMetrics(registry)
    gateway = functools.partial(
        Gateway,
        metrics=app.state.request_metrics,
        body_limit=BodyLimit(max_body_bytes),
        deadlines=RequestDeadlines(body_timeout_s, request_timeout_s),
        rate_limiter=(
            RateLimiter(
                TokenBuckets(rate_limit_rps, rate_limit_burst),
                caller_identity(ctx.tokens),
                RateLimitMetrics(registry),
            )
            if rate_limit_rps > 0
            else None
        ),
    )
    app.add_middleware(gateway)
    app.front = gateway(app.pass_by, lane=routes_reports.SubmitLane(app.exception_handlers))
    install_docs(app)
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
        _declare_error_body(schema)
        _declare_bearer_auth(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _declare_error_body(schema: dict[str, Any]) -> None:
    """FastAPI documents its own 422 body (``{"detail": ...}``) wherever a route has parameters;
    this app answers every 422 with the contract's error body instead, so say that."""
    errors_ref = {"$ref": f"#/components/schemas/{ErrorsBody.__name__}"}
    fastapi_ref = "#/components/schemas/HTTPValidationError"
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    if media.get("schema", {}).get("$ref") == fastapi_ref:
                        media["schema"] = errors_ref
    components = schema.get("components", {}).get("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)


def _declare_bearer_auth(schema: dict[str, Any]) -> None:
    """Every API route wants ``Authorization: Bearer <token>`` (checked by hand, per role)."""
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "a token from tokens.yaml"}
    }
    for path, operations in schema.get("paths", {}).items():
        if path.startswith("/v1/"):
            for operation in operations.values():
                operation["security"] = [{"bearer": []}]
