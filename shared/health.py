"""``/healthz``, ``/readyz`` and ``/metrics`` routes, the same for every service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
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


def redis_ping_check(ping: Callable[[], Awaitable[object]]) -> ReadinessCheck:
    async def check() -> dict[str, str]:
        try:
            await ping()
        except Exception as exc:
            return {"redis": f"{type(exc).__name__}: {exc}"}
        return {}

    return check
