"""Composition root of the exporter: settings -> Redis, targets, clock -> HTTP app."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4
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
from shared.shared_read import SharedRead
from shared.store.client import StoreError
from shared.store.connection import connect
from shared.targets import load_targets

log = logging.getLogger("pacer.exporter")
SCRAPE_MAX_AGE_S = 0.1
"""How old a read a scrape may show. Prometheus scrapes every 15 s or so, but an applied report
should reach ``/metrics`` within 250 ms (p99, BENCHMARKS.md "latency"): at 1 s the shared read
alone held it back ~1 s. A burst of scrapes still shares a handful of reads (a whole scrape of
340 cities, read and rendered, takes ~100-150 ms on the 2-vCPU VM of BENCHMARKS.md, most of it
the rendering; 16 cities ~13 ms)."""


def build_app(settings: Settings) -> Starlette:
    targets = load_targets(settings.targets_file)
    clock = settings.make_clock()
    redis = connect(settings.redis_url, timeout_s=settings.redis_timeout_s)
    exposition = TextExposition()

    async def scrape() -> bytes:
        snapshot = await read_snapshot(redis, targets)
        return render(exposition, targets, snapshot, clock.now())

    # Scrapes within SCRAPE_MAX_AGE_S share one read and one rendering. Each reading Redis on
    # its own, 300 concurrent scrapes held a pool connection apiece and 198 waited past the
    # pool's timeout into a 503 (issue 11).
    scrapes = SharedRead(scrape, max_age_s=SCRAPE_MAX_AGE_S)

    async def metrics(_: Request) -> Response:
        try:
            body = await scrapes.get()
        except (StoreError, OSError) as exc:
            # No stale numbers: Prometheus marks the target down and keeps the last good samples.
            log.warning("scrape failed, Redis does not answer: %r", exc)
            return PlainTextResponse(
                f"Redis does not answer: {type(exc).__name__}: {exc}\n", status_code=503
            )
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
