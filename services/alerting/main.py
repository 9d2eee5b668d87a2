"""Composition root of the alerting service.

- Evaluates the rules after every applied report (the progress stream) and every
  ``PACER_EVAL_INTERVAL`` seconds (time passing alone makes a city behind or a report overdue).
- Turns each alerts-stream entry (one group's notifications, or a new subscription with the
  alerts active then) into signed webhook deliveries, one per group and matching subscriber,
  retried with backoff by the delivery worker.
- Pushes active alerts to Alertmanager when ``PACER_ALERTMANAGER_URL`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import httpx
from faststream import AckPolicy
from faststream.redis.annotations import RedisStreamMessage
from prometheus_client import Counter
from starlette.applications import Starlette

from services.alerting.alertmanager import AlertmanagerClient
from services.alerting.delivery import DeliveryWorker, FanOut
from services.alerting.evaluator import Evaluation, Evaluator
from shared import logs, names, runtime_metrics
from shared.consumers import restart_stopped_subscribers, subscribe_with_reclaimer
from shared.domain.alerts import evaluate_alerts
from shared.health import health_routes, redis_readiness
from shared.serving import serve_http
from shared.settings import Settings
from shared.store.broker import stream_broker
from shared.store.client import StoreClient
from shared.store.connection import connect
from shared.store.groups import ensure_groups
from shared.targets import load_targets
from shared.wire import ProgressEvent

log = logging.getLogger("pacer.alerting")
PROGRESS_WORKERS = 64
"""Progress events handled at once: those waiting behind a running evaluation share the next."""


def _fields(message: RedisStreamMessage) -> tuple[str, dict[str, str]]:
    raw = message.raw_message
    entry_id = raw["message_ids"][0].decode()
    return entry_id, {k.decode(): v.decode() for k, v in raw["data"].items()}


async def _every(seconds: float, action: Callable[[], Awaitable[object]], what: str) -> None:
    while True:
        try:
            await action()
        except Exception as exc:  # Redis down or a bug: log, keep the loop alive
            log.warning("%s failed: %r", what, exc)
        await asyncio.sleep(seconds)


def build_app(settings: Settings) -> Starlette:
    targets = load_targets(settings.targets_file)
    clock = settings.make_clock()
    registry = runtime_metrics.service_registry()
    redis: StoreClient = connect(settings.redis_url, timeout_s=max(settings.redis_timeout_s, 10.0))
    http = httpx.AsyncClient(timeout=settings.delivery_timeout_s, headers={"User-Agent": "pacer"})
    broker = stream_broker(
        settings.redis_url, registry=registry, logger=logs.stream_logger("alerting")
    )
    evaluator = Evaluator.on_store(
        redis,
        targets,
        clock,
        repeat_interval=timedelta(seconds=settings.repeat_interval),
        resolve_hold=timedelta(seconds=settings.resolve_hold),
        rules=functools.partial(evaluate_alerts, due_soon_days=settings.report_due_soon_days),
    )
    alertmanager = (
        AlertmanagerClient(
            settings.alertmanager_url,
            http,
            timedelta(seconds=settings.eval_interval),
            generator_url=f"{settings.external_url}/v1/alerts",
        )
        if settings.alertmanager_url
        else None
    )
    notifications = Counter(
        "pacer_alert_notifications",
        "Alert notifications decided by the evaluator, by event.",
        ["event"],
        registry=registry,
    )
    worker = DeliveryWorker(redis, http, settings, registry=registry)

    async def evaluate() -> Evaluation:
        result = await evaluator.evaluate()
        for notification in result.notifications:
            notifications.labels(str(notification.event)).inc()
        if alertmanager is not None:
            await alertmanager.push(result.active, result.notifications)
        return result

    async def on_progress(message: RedisStreamMessage) -> None:
        _, fields = _fields(message)
        try:
            event = ProgressEvent.from_fields(fields)
            city, report_id = event.city, event.report_id
        except (KeyError, ValueError):  # still a reason to evaluate: the state may have changed
            log.warning("progress entry %s is not a progress event: evaluating anyway", fields)
            city, report_id = "?", "?"
        with logs.report_context(city, report_id):
            result = await evaluate()
            log.info(
                "evaluated after the report: %d alerts active, %d notifications",
                len(result.active),
                len(result.notifications),
            )

    fan_out = FanOut(redis, settings)

    async def on_notification(message: RedisStreamMessage) -> None:
        entry_id, fields = _fields(message)
        if await fan_out(entry_id, fields):
            worker.wake()  # due now: no need to wait for the worker's next poll

    subscribe_with_reclaimer(
        broker,
        stream=names.PROGRESS_STREAM,
        group=names.ALERTING_GROUP,
        consumer=settings.consumer_name,
        handler=on_progress,
        reclaim_idle_ms=settings.reclaim_idle_ms,
        # Events handled one at a time each cost a full evaluation, and the alerting group fell
        # behind a sustained ingest (soak: ~35 of ~190 reports/s); concurrent runs share one.
        # 16 at a time was no longer enough once an evaluation read the v2 state (first
        # receipts, latest as_of, readings): the soak ended ~18,000 events behind at ~107
        # reports/s; 64 share an evaluation and it drains.
        max_workers=PROGRESS_WORKERS,
    )
    subscribe_with_reclaimer(
        broker,
        stream=names.ALERTS_STREAM,
        group=names.DELIVERY_GROUP,
        consumer=settings.consumer_name,
        handler=on_notification,
        reclaim_idle_ms=settings.reclaim_idle_ms,
        ack_policy=AckPolicy.MANUAL,  # fan_out acknowledges, atomically with the deliveries
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await ensure_groups(redis)  # before the broker, which would create them at "$"
        await broker.start()
        delivering = asyncio.create_task(worker.run())
        loops = [
            asyncio.create_task(_every(settings.eval_interval, evaluate, "evaluation")),
            asyncio.create_task(
                _every(1.0, lambda: restart_stopped_subscribers(broker, redis), "upkeep")
            ),
        ]
        try:
            yield
        finally:
            for loop in loops:
                loop.cancel()
            worker.stop()  # finish the attempts in flight rather than leave them claimed
            with contextlib.suppress(Exception):
                await asyncio.wait_for(delivering, settings.delivery_timeout_s + 2)
            await broker.stop()
            await http.aclose()
            await redis.aclose()

    return Starlette(routes=health_routes(redis_readiness(redis), registry), lifespan=lifespan)


def main(settings: Settings) -> None:
    serve_http(build_app(settings), settings.bind, settings.alerting_port)
