"""Composition root of the exporter: settings -> Redis, targets, clock -> HTTP app."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services.exporter.collector import render
from services.exporter.exposition import TextExposition
from services.exporter.snapshot import read_snapshot
from shared.health import health_routes, redis_readiness
from shared.serving import serve_http
from shared.settings import Settings
from shared.store.connection import connect
from shared.targets import load_targets

log = logging.getLogger("pacer.exporter")


def build_app(settings: Settings) -> Starlette:
    targets = load_targets(settings.targets_file)
    clock = settings.make_clock()
    redis = connect(settings.redis_url, timeout_s=settings.redis_timeout_s)
    exposition = TextExposition()

    async def metrics(_: Request) -> Response:
        try:
            snapshot = await read_snapshot(redis, targets)
        except (RedisError, OSError) as exc:
            # No stale numbers: Prometheus marks the target down and keeps the last good samples.
            log.warning("scrape failed, Redis does not answer: %r", exc)
            return PlainTextResponse(
                f"Redis does not answer: {type(exc).__name__}: {exc}\n", status_code=503
            )
        body = render(exposition, targets, snapshot, clock.now())
        return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await redis.aclose()

    routes = health_routes(redis_readiness(redis), registry=None)
    routes.append(Route("/metrics", metrics, methods=["GET"]))
    return Starlette(routes=routes, lifespan=lifespan)


def main(settings: Settings) -> None:
    serve_http(build_app(settings), settings.bind, settings.exporter_port)
