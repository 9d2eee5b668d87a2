"""Request metrics of the ingest API: rate, errors and latency by route and status; reports
refused for backpressure."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "pacer_http_requests",
            "HTTP requests answered by the ingest API, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "pacer_http_request_duration_seconds",
            "Time from request to the last byte of the response, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.backpressure_rejections = Counter(
            "pacer_ingest_backpressure_rejections",
            "Reports refused with 503 because PACER_MAX_BACKLOG reports already waited to be "
            "applied; nothing of them was stored (the client retries with the same report_id).",
            registry=registry,
        )


def request_metrics(request: Request) -> RequestMetrics:
    """The app's metrics, for a route that counts something itself."""
    metrics: RequestMetrics = request.app.state.request_metrics
    return metrics


class RequestMetricsMiddleware:
    """Labels by route template (``/v1/cities/{city}/...``), never the raw path: bounded series."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = _route_label(scope)
            method = str(scope["method"])
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _route_label(scope: Scope) -> str:
    """The API route's template; a plain route's (static) path; else "unmatched" (404s)."""
    if (route := scope.get("route")) is not None:
        return str(route.path)
    if scope.get("endpoint") is not None:
        return str(scope["path"])
    return "unmatched"
