"""``/healthz``, ``/readyz`` and ``/metrics`` routes, the same for every service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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


READINESS_DEADLINE_S = 1.0
"""How long ``/readyz`` waits for Redis: well inside the probes' 3-4 s timeouts, so the answer is
a clear 503 rather than a probe timing out. The services' own Redis timeouts run to 10 s."""


def redis_readiness(redis: Redis, deadline_s: float = READINESS_DEADLINE_S) -> ReadinessCheck:
    """Ready while a ``PING`` through the service's own pool is answered within ``deadline_s``:
    that fails both when Redis does not answer and when the pool has no connection to give
    (all checked out, as when connections leaked), and the problem says which.

    A ``PING`` past the deadline is left to finish rather than cancelled: it ends within the
    client's timeouts and gives its connection back like any other call."""
    unfinished: set[asyncio.Task[object]] = set()

    async def ping() -> object:
        return await redis.ping()

    async def check() -> dict[str, str]:
        pool = redis.connection_pool
        answer = asyncio.create_task(ping())
        done, _ = await asyncio.wait({answer}, timeout=deadline_s)
        if not done:
            unfinished.add(answer)
            answer.add_done_callback(_forget(unfinished))
            if not pool.can_get_connection():
                return {
                    "redis": f"no connection of the pool came free within {deadline_s:g} s "
                    f"(all {pool.max_connections} in use)"
                }
            return {"redis": f"Redis did not answer PING within {deadline_s:g} s"}
        if (error := answer.exception()) is not None:
            return {"redis": f"{type(error).__name__}: {error}"}
        return {}

    return check


def _forget(unfinished: set[asyncio.Task[object]]) -> Callable[[asyncio.Task[object]], None]:
    def forget(task: asyncio.Task[object]) -> None:
        unfinished.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: an outcome nobody waits for is not logged as lost

    return forget
