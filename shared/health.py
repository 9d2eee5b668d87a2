"""``/healthz``, ``/readyz`` and ``/metrics`` routes, the same for every service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.shared_read import SharedRead
from shared.store.client import StoreClient, StoreConnectionError

ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]
"""Returns a problem per failing dependency; empty when ready."""


def health_routes(ready: ReadinessCheck, registry: CollectorRegistry | None) -> list[Route]:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> Response:
        problems = await ready()
        if problems:
            return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if registry is not None:

        async def metrics(_: Request) -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)

        routes.append(Route("/metrics", metrics, methods=["GET"]))
    return routes


PING_SHARED_FOR_S = 0.5
"""Readiness checks within this long share one ``PING``: 100 concurrent ``/readyz`` would
otherwise take up to 100 of the pool's connections at once, and under a burst most waited."""


def redis_readiness(redis: StoreClient, shared_for_s: float = PING_SHARED_FOR_S) -> ReadinessCheck:
    """Ready while a ``PING`` through the service's own pool is answered. That fails when Redis
    does not answer within the client's timeouts and when the pool has no connection to give
    (all checked out, as when connections leaked), and the problem says which."""

    async def ping() -> bool:
        return bool(await redis.ping())

    pings = SharedRead(ping, max_age_s=shared_for_s)

    async def check() -> dict[str, str]:
        try:
            await pings.get()
        except Exception as exc:
            pool = redis.connection_pool
            if isinstance(exc, StoreConnectionError) and not pool.can_get_connection():
                return {
                    "redis": f"no connection to give: all {pool.max_connections} of the "
                    f"pool's connections are in use ({exc})"
                }
            return {"redis": f"{type(exc).__name__}: {exc}"}
        return {}

    return check
