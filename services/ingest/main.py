"""Composition root of the ingest service."""

from __future__ import annotations

import asyncio
import logging
import sys

from fastapi import FastAPI

from services.ingest.app import create_app
from services.ingest.auth import TokenBook, TokensFileError
from services.ingest.context import IngestContext
from shared.runtime_metrics import service_registry
from shared.serving import serve_http
from shared.settings import Settings
from shared.store.client import StoreClient
from shared.store.connection import connect
from shared.store.replication import ReplicaQuorum
from shared.store.reports import ReportStore, upgrade_report_records
from shared.targets import load_targets

log = logging.getLogger("pacer.ingest")


async def _upgrade_store(settings: Settings) -> None:
    """Report records of an older Pacer move under their city before the first request. With
    Redis down this start skips it: the aggregator runs it too (and cannot start without it),
    and the accept script moves a record it meets meanwhile."""
    redis = connect(settings.redis_url, timeout_s=settings.redis_timeout_s)
    try:
        await upgrade_report_records(redis)
        await _warn_of_missing_replicas(redis, settings.redis_min_replicas)
    except Exception as exc:
        log.warning("Redis not reached at start (the aggregator upgrades the records): %r", exc)
    finally:
        await redis.aclose()


async def _warn_of_missing_replicas(redis: StoreClient, required: int) -> None:
    """Every report is answered 503 while fewer replicas than required are connected: say so at
    start rather than leave it to the first city's 503s."""
    if required <= 0:
        return
    connected = int((await redis.info("replication")).get("connected_slaves", 0))
    if connected < required:
        log.warning(
            "PACER_REDIS_MIN_REPLICAS=%d but the primary has %d replica(s) connected: reports "
            "are answered 503 until enough replicas are",
            required,
            connected,
        )


def build_app(settings: Settings) -> FastAPI:
    """The service's app, wired from ``settings``: what ``main`` serves, and what
    ``python -m bench ingest_app`` drives in process."""
    targets = load_targets(settings.targets_file)
    try:
        tokens = TokenBook.load(settings.tokens_file, set(targets.cities))
    except TokensFileError as exc:
        named = str(exc) if "PACER_TOKENS_FILE" in str(exc) else f"PACER_TOKENS_FILE={exc}"
        sys.exit(f"pacer serve ingest: configuration error: {named}")
    redis = connect(settings.redis_url, timeout_s=settings.redis_timeout_s)
    ctx = IngestContext(
        targets=targets,
        clock=settings.make_clock(),
        tokens=tokens,
        store=ReportStore(
            redis,
            max_backlog=settings.max_backlog,
            max_sites_per_city=targets.max_sites_per_city,
            quorum=ReplicaQuorum.for_client(settings.redis_min_replicas, settings.redis_timeout_s),
        ),
        redis=redis,
        webhook_allow=settings.webhook_allow_list,
    )
    return create_app(
        ctx,
        settings.max_body_bytes,
        registry=service_registry(),
        rate_limit_rps=settings.rate_limit_rps,
        rate_limit_burst=settings.rate_limit_burst,
        body_timeout_s=settings.request_body_timeout_s,
        request_timeout_s=settings.request_timeout_s,
    )


def main(settings: Settings) -> None:
    app = build_app(settings)  # a bad tokens file stops the start here, before Redis is asked
    asyncio.run(_upgrade_store(settings))
    serve_http(
        app,
        settings.bind,
        settings.api_port,
        header_timeout_s=settings.request_header_timeout_s,
        trusted_proxies=settings.trusted_proxy_list,
    )
