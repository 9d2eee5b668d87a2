"""Request metrics of the ingest API: rate, errors and latency by route and status; reports
refused for backpressure or for want of replicas."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import Request
from starlette.types import Scope

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Any other method a client invents is counted as "other": a label must not take values a
caller chooses, or each new one would add series to every scrape for good."""


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
        self.unreplicated_rejections = Counter(
            "pacer_ingest_unreplicated_rejections",
            "Reports answered 503 because fewer than PACER_REDIS_MIN_REPLICAS replicas confirmed "
            "them in time (the client retries with the same report_id: duplicate or stored anew).",
            registry=registry,
        )
        # The labelled children, looked up once per label set: ``labels()`` validates and locks
        # on every call, twice per request otherwise. One entry per series the metrics hold
        # anyway, and nothing ever removes a child, so a cached one stays the live one.
        self._counted: dict[tuple[str, str, int], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """One answered request: its route (see ``_route_label``), status and duration."""
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        route = _route_label(scope)
        counted = self._counted.get((method, route, status))
        if counted is None:
            counted = self._counted[(method, route, status)] = self.requests.labels(
                method, route, str(status)
            )
        timed = self._timed.get((method, route))
        if timed is None:
            timed = self._timed[(method, route)] = self.latency.labels(method, route)
        counted.inc()
        timed.observe(seconds)


def request_metrics(request: Request) -> RequestMetrics:
    """The app's metrics, for a route that counts something itself."""
    metrics: RequestMetrics = request.app.state.request_metrics
    return metrics


def _route_label(scope: Scope) -> str:
    """Labels by route template (``/v1/cities/{city}/...``), never the raw path: bounded series.

    The API route's template; a plain route's (static) path; else "unmatched" (404s)."""
    if (route := scope.get("route")) is not None:
        return str(route.path)
    if scope.get("endpoint") is not None:
        return str(scope["path"])
    return "unmatched"
