"""Webhook delivery against a real redis-server and real HTTP receivers on loopback.

``fan_out`` and ``DeliveryWorker`` run in the test's event loop, exactly as the alerting service
wires them; the receivers are HTTP servers in threads. Each test writes alerts-stream entries as
the evaluator does (one group's notifications each); one test writes the format of before.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from services.alerting.delivery import DeliveryWorker, fan_out
from services.alerting.delivery.signing import TOLERANCE_S, verify, verify_delivery
from shared import names
from shared.domain.alert_lifecycle import ActiveAlert, Event, Notification
from shared.domain.alerts import Alert
from shared.settings import Settings
from shared.store.deliveries import Deliveries
from shared.store.subscriptions import SubscriptionStore
from shared.wire_alerts import (
    Subscription,
    SubscriptionFilters,
    encode_active,
    group_entry_fields,
    v1_notification_fields,
)
from shared.wire_deliveries import DeliveryRecord
from tests.support.webhooks import WebhookReceiver

SECRET = "s3cret-signing-key-0123"
STARTS_AT = datetime(2024, 7, 15, 4, 0, tzinfo=UTC)


@pytest.fixture
def receivers() -> Iterator[Callable[..., WebhookReceiver]]:
    started: list[WebhookReceiver] = []

    def start(*statuses: int, default: int = 200, hang_s: float = 0) -> WebhookReceiver:
        receiver = WebhookReceiver(statuses, default=default, hang_s=hang_s).__enter__()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.__exit__()


def delivery_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "public_url": "https://pacer.example.test",
        "delivery_timeout_s": 0.5,
        "delivery_backoff_s": 0.05,
        "delivery_backoff_max_s": 0.4,
        "delivery_max_attempts": 5,
        "webhook_allowed_hosts": "127.0.0.1",  # the receivers are on loopback
    }
    return Settings(**(values | overrides))


def alert_notification(
    city: str = "jinan", event: Event = Event.FIRING, severity: str = "warning"
) -> Notification:
    alert = Alert(
        labels={
            "alertname": "FiveGBehindPlan",
            "severity": severity,
            "program": "5g-2025",
            "city": city,
        },
        annotations={
            "summary": f"{city} is behind the 5g-2025 plan",
            "description": "actual 1200, expected 1500, shortfall 300",
        },
    )
    resolved = event is Event.RESOLVED
    return Notification(
        event=event,
        alert=alert,
        starts_at=STARTS_AT,
        ends_at=STARTS_AT + timedelta(days=3) if resolved else None,
        at=STARTS_AT + timedelta(days=3 if resolved else 0),
    )


async def subscribe(
    store: Redis, receiver: WebhookReceiver, name: str, **options: Any
) -> Subscription:
    """As the API does: the creation entry is fanned out too (nothing is active: no delivery)."""
    subscription = Subscription(
        id=f"sub_{name}", url=receiver.url, secret=SECRET, created_at=STARTS_AT, **options
    )
    entry_id = await SubscriptionStore(store).create(subscription)
    await store.xreadgroup(names.DELIVERY_GROUP, "test", {names.ALERTS_STREAM: ">"})
    fields = await stream_fields(store, entry_id)
    assert await fan_out(store, entry_id, fields, delivery_settings()) == 0
    return subscription


async def publish(store: Redis, *notifications: Notification, v1: bool = False) -> str:
    """Append one group's notifications to the alerts stream (``v1``: one notification in the
    format of before grouping) and read it as the delivery group (so it is pending)."""
    fields = (
        v1_notification_fields(notifications[0]) if v1 else group_entry_fields([*notifications])
    )
    entry_id = str(await store.xadd(names.ALERTS_STREAM, fields))  # type: ignore[arg-type]
    await store.xreadgroup(names.DELIVERY_GROUP, "test", {names.ALERTS_STREAM: ">"})
    return entry_id


async def stream_fields(store: Redis, entry_id: str) -> dict[str, str]:
    """The entry's fields as a consumer reads them from the stream."""
    entries: Any = await store.xrange(names.ALERTS_STREAM, entry_id, entry_id)
    return {str(k): str(v) for k, v in entries[0][1].items()}


async def hash_of(store: Redis, key: str) -> dict[str, str]:
    found: Any = await store.hgetall(key)
    return dict(found)


async def notify(
    store: Redis, settings: Settings, *notifications: Notification, v1: bool = False
) -> int:
    entry_id = await publish(store, *notifications, v1=v1)
    return await fan_out(store, entry_id, await stream_fields(store, entry_id), settings)


async def deliveries(store: Redis, subscription_id: str) -> list[DeliveryRecord]:
    return await Deliveries(store).recent(subscription_id)


async def eventually(predicate: Callable[[], Any], within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met in {within_s}s")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_worker(
    store: Redis, settings: Settings, registry: CollectorRegistry | None = None, **options: Any
) -> AsyncIterator[DeliveryWorker]:
    async with httpx.AsyncClient() as http:
        worker = DeliveryWorker(
            store,
            http,
            settings,
            registry=registry or CollectorRegistry(),
            poll_interval_s=0.05,
            **options,
        )
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            worker.stop()
            await asyncio.wait_for(task, timeout=5)


def outcomes(registry: CollectorRegistry) -> dict[str, float]:
    return {
        outcome: registry.get_sample_value("pacer_webhook_deliveries_total", {"outcome": outcome})
        or 0.0
        for outcome in ("delivered", "retried", "dead")
    }


def status_is(store: Redis, subscription_id: str, status: str) -> Callable[[], Any]:
    async def check() -> bool:
        found = await deliveries(store, subscription_id)
        return bool(found) and all(d.status == status for d in found)

    return check


# Retries ----------------------------------------------------------------------------------------


async def test_a_receiver_failing_three_times_gets_the_fourth_attempt_signed_with_one_delivery_id(
    store: Redis, receivers: Callable[..., WebhookReceiver]
) -> None:
    receiver = receivers(500, 500, 500)
    settings = delivery_settings()
    subscription = await subscribe(store, receiver, "flaky")
    registries = [CollectorRegistry(), CollectorRegistry()]
    async with running_worker(store, settings, registries[0]):
        assert await notify(store, settings, alert_notification()) == 1
        await eventually(lambda: len(receiver.received) >= 2)
    # A restarted worker carries on from what Redis holds.
    async with running_worker(store, settings, registries[1]):
        await eventually(status_is(store, subscription.id, "delivered"))

    requests = receiver.received
    assert len(requests) == 4
    [final] = await deliveries(store, subscription.id)
    assert {r.headers["x-pacer-delivery"] for r in requests} == {final.id}
    assert len({r.body for r in requests}) == 1, "every retry sends the same bytes"
    for request in requests:
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"] == "pacer"
        assert verify(SECRET, request.body, request.headers["x-pacer-signature"])
        assert not verify(
            "another-secret-entirely", request.body, request.headers["x-pacer-signature"]
        )
        # The README's receiver check: this attempt's id, timestamp and body, sent just now...
        assert request.headers["webhook-id"] == final.id
        assert verify_delivery(SECRET, request.headers, request.body, now=time.time())
        # ...and the same bytes replayed six minutes later are refused.
        replayed_at = int(request.headers["webhook-timestamp"]) + TOLERANCE_S + 60
        assert not verify_delivery(SECRET, request.headers, request.body, now=replayed_at)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(requests)]
    for failures, gap in enumerate(gaps, start=1):
        assert gap >= 0.5 * 0.05 * 2 ** (failures - 1) - 0.005, f"backoff after {failures}: {gaps}"

    body = requests[0].json()
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == subscription.id
    assert body["groupLabels"] == {"alertname": "FiveGBehindPlan", "program": "5g-2025"}
    assert body["groupKey"] == '{}:{alertname="FiveGBehindPlan", program="5g-2025"}'
    assert body["commonLabels"]["city"] == "jinan"
    assert body["commonAnnotations"]["summary"] == "jinan is behind the 5g-2025 plan"
    assert body["externalURL"] == "https://pacer.example.test"
    [alert] = body["alerts"]
    assert alert["status"] == "firing"
    assert alert["labels"] == alert_notification().alert.labels
    assert alert["annotations"]["description"] == "actual 1200, expected 1500, shortfall 300"
    assert datetime.fromisoformat(alert["startsAt"]) == STARTS_AT
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"
    assert alert["fingerprint"] == alert_notification().alert.fingerprint

    assert final.status == "delivered"
    assert [a.status_code for a in final.attempts] == [500, 500, 500, 200]
    assert final.next_attempt_at is None
    assert await store.zcard(names.DELIVERIES_DUE_KEY) == 0
    total = {
        k: outcomes(registries[0])[k] + outcomes(registries[1])[k]
        for k in ("delivered", "retried", "dead")
    }
    assert total == {"delivered": 1, "retried": 3, "dead": 0}
    assert registries[1].get_sample_value("pacer_webhook_delivery_seconds_count")


async def test_a_silent_receiver_is_dead_lettered_while_a_healthy_one_is_served_promptly(
    store: Redis, receivers: Callable[..., WebhookReceiver]
) -> None:
    silent = receivers(hang_s=10)
    healthy = receivers()
    settings = delivery_settings(delivery_max_attempts=3)
    dead_subscription = await subscribe(store, silent, "silent")
    await subscribe(store, healthy, "healthy")
    registry = CollectorRegistry()
    async with running_worker(store, settings, registry):
        started = time.monotonic()
        assert await notify(store, settings, alert_notification()) == 2
        await eventually(lambda: len(healthy.received) == 1)
        first_arrival = healthy.received[0].at - started
        # While the silent subscriber is still timing out, a new alert reaches the healthy one.
        assert len(silent.received) < 3
        second_sent = time.monotonic()
        await notify(store, settings, alert_notification(city="qingdao"))
        await eventually(lambda: len(healthy.received) == 2)
        second_arrival = healthy.received[1].at - second_sent
        await eventually(status_is(store, dead_subscription.id, "dead"))
        finished = time.monotonic() - started

    assert first_arrival < 0.3, first_arrival
    assert second_arrival < 0.3, second_arrival
    assert finished > 3 * 0.5, "three attempts, each timing out after 0.5 s"
    assert len(silent.received) == 3 * 2  # 3 attempts for each of the 2 alerts (no more)
    records = await deliveries(store, dead_subscription.id)
    assert [r.status for r in records] == ["dead", "dead"]
    newest = records[0].public()
    [alert] = newest["alerts"]
    assert (alert["alertname"], alert["event"]) == ("FiveGBehindPlan", "firing")
    assert alert["labels"]["city"] == "qingdao"
    assert newest["event"] == "firing"
    assert newest["next_attempt_at"] is None
    assert [a["error"] for a in newest["attempts"]] == ["timeout"] * 3
    assert all(400 <= a["duration_ms"] < 1000 for a in newest["attempts"])
    assert "status_code" not in newest["attempts"][0]
    assert newest["error"] == "gave up after 3 attempts (last: timeout)"
    assert outcomes(registry) == {"delivered": 2, "retried": 4, "dead": 2}


# Filters ----------------------------------------------------------------------------------------


async def test_subscribers_get_only_the_alerts_their_filters_and_send_resolved_ask_for(
    store: Redis, receivers: Callable[..., WebhookReceiver]
) -> None:
    everything, jinan_only, no_resolved = receivers(), receivers(), receivers()
    settings = delivery_settings()
    await subscribe(store, everything, "everything")
    await subscribe(store, jinan_only, "jinan", filters=SubscriptionFilters(cities=["jinan"]))
    await subscribe(store, no_resolved, "no-resolved", send_resolved=False)
    async with running_worker(store, settings):
        assert await notify(store, settings, alert_notification(city="qingdao")) == 2
        assert await notify(store, settings, alert_notification(city="jinan")) == 3
        assert await notify(store, settings, alert_notification("jinan", Event.RESOLVED)) == 2
        await eventually(
            lambda: (
                (len(everything.received), len(jinan_only.received), len(no_resolved.received))
                == (3, 2, 2)
            )
        )
        await asyncio.sleep(0.3)  # nothing else arrives later

    def seen(receiver: WebhookReceiver) -> list[tuple[str, str]]:
        bodies = [r.json() for r in receiver.received]
        return sorted((b["commonLabels"]["city"], b["status"]) for b in bodies)

    assert seen(everything) == [("jinan", "firing"), ("jinan", "resolved"), ("qingdao", "firing")]
    assert seen(jinan_only) == [("jinan", "firing"), ("jinan", "resolved")]
    assert seen(no_resolved) == [("jinan", "firing"), ("qingdao", "firing")]
    resolved = next(r.json() for r in jinan_only.received if r.json()["status"] == "resolved")
    assert datetime.fromisoformat(resolved["alerts"][0]["endsAt"]) == STARTS_AT + timedelta(days=3)


async def test_one_groups_notifications_reach_each_subscriber_as_one_delivery_of_what_it_wants(
    store: Redis, receivers: Callable[..., WebhookReceiver]
) -> None:
    everything, jinan_only, no_resolved, heze_only = (
        receivers(),
        receivers(),
        receivers(),
        receivers(),
    )
    settings = delivery_settings()
    await subscribe(store, everything, "everything")
    await subscribe(store, jinan_only, "jinan", filters=SubscriptionFilters(cities=["jinan"]))
    await subscribe(store, no_resolved, "no-resolved", send_resolved=False)
    await subscribe(store, heze_only, "heze", filters=SubscriptionFilters(cities=["heze"]))
    group = [
        alert_notification("jinan"),
        alert_notification("jinan", severity="critical"),
        alert_notification("qingdao", Event.RESOLVED),
    ]
    async with running_worker(store, settings):
        assert await notify(store, settings, *group) == 3
        wanting = (everything, jinan_only, no_resolved)
        await eventually(lambda: all(len(r.received) == 1 for r in wanting))
        await asyncio.sleep(0.3)  # nothing else arrives later

    def seen(receiver: WebhookReceiver) -> list[tuple[str, str, str]]:
        [request] = receiver.received
        body = request.json()
        assert body["groupLabels"] == {"alertname": "FiveGBehindPlan", "program": "5g-2025"}
        return [(a["labels"]["city"], a["labels"]["severity"], a["status"]) for a in body["alerts"]]

    assert seen(everything) == [
        ("jinan", "warning", "firing"),
        ("jinan", "critical", "firing"),
        ("qingdao", "warning", "resolved"),
    ]
    assert seen(jinan_only) == [("jinan", "warning", "firing"), ("jinan", "critical", "firing")]
    assert seen(no_resolved) == [("jinan", "warning", "firing"), ("jinan", "critical", "firing")]
    assert heze_only.received == []
    assert everything.received[0].json()["status"] == "firing"
    [record] = await deliveries(store, "sub_everything")
    assert [(a["event"], a["labels"]["city"]) for a in record.public()["alerts"]] == [
        ("firing", "jinan"),
        ("firing", "jinan"),
        ("resolved", "qingdao"),
    ]


async def test_an_entry_written_before_grouping_is_still_delivered(
    store: Redis, receivers: Callable[..., WebhookReceiver]
) -> None:
    receiver = receivers()
    settings = delivery_settings()
    subscription = await subscribe(store, receiver, "upgraded")
    async with running_worker(store, settings):
        assert await notify(store, settings, alert_notification(), v1=True) == 1
        await eventually(status_is(store, subscription.id, "delivered"))
    [request] = receiver.received
    body = request.json()
    assert body["status"] == "firing"
    assert [a["fingerprint"] for a in body["alerts"]] == [alert_notification().alert.fingerprint]
    assert verify(SECRET, request.body, request.headers["x-pacer-signature"])


# A new subscription ------------------------------------------------------------------------------


async def test_a_new_subscription_gets_the_active_alerts_and_no_change_from_before_it(
    store: Redis, receivers: Callable[..., WebhookReceiver]
) -> None:
    receiver = receivers()
    settings = delivery_settings()
    held = ActiveAlert(
        alert_notification("heze").alert, STARTS_AT, STARTS_AT, absent_since=STARTS_AT
    )
    active = [
        ActiveAlert(alert_notification(c).alert, STARTS_AT, STARTS_AT) for c in ("jinan", "qingdao")
    ]
    for record in [*active, held]:
        await store.hset(names.ACTIVE_ALERTS_KEY, record.alert.fingerprint, encode_active(record))
    # An evaluation's entry written before the subscription exists, fanned out after it does
    # (the fan-out lagging behind): what it notified is in the snapshot already.
    earlier = await publish(store, alert_notification("weihai"))
    subscription = Subscription(
        id="sub_late", url=receiver.url, secret=SECRET, created_at=STARTS_AT
    )
    created = await SubscriptionStore(store).create(subscription)
    later = await publish(store, alert_notification("heze", Event.RESOLVED))
    async with running_worker(store, settings):
        for entry_id in (earlier, created, later):
            await fan_out(store, entry_id, await stream_fields(store, entry_id), settings)
        await eventually(lambda: len(receiver.received) == 2)
        await asyncio.sleep(0.3)
    # Sent concurrently: in either order.
    first, second = sorted((r.json() for r in receiver.received), key=lambda b: b["status"])
    assert first["status"] == "firing"
    assert sorted(a["labels"]["city"] for a in first["alerts"]) == ["heze", "jinan", "qingdao"]
    assert {a["status"] for a in first["alerts"]} == {"firing"}
    assert {a["startsAt"] for a in first["alerts"]} == {STARTS_AT.isoformat()}
    assert second["status"] == "resolved"
    assert [a["labels"]["city"] for a in second["alerts"]] == ["heze"]
    subscribed, notified = sorted(
        await deliveries(store, subscription.id), key=lambda d: d.reason, reverse=True
    )
    assert (subscribed.reason, notified.reason) == ("subscribed", "notified")
    assert (await store.xpending(names.ALERTS_STREAM, names.DELIVERY_GROUP))["pending"] == 0


async def test_a_subscription_deleted_before_its_creation_entry_is_fanned_out_gets_nothing(
    store: Redis, receivers: Callable[..., WebhookReceiver]
) -> None:
    record = ActiveAlert(alert_notification().alert, STARTS_AT, STARTS_AT)
    await store.hset(names.ACTIVE_ALERTS_KEY, record.alert.fingerprint, encode_active(record))
    subscription = Subscription(
        id="sub_gone", url=receivers().url, secret=SECRET, created_at=STARTS_AT
    )
    created = await SubscriptionStore(store).create(subscription)
    assert await SubscriptionStore(store).delete(subscription.id)
    assert await store.hget(names.SUBSCRIPTION_ALERTS_FROM_KEY, subscription.id) is None
    await store.xreadgroup(names.DELIVERY_GROUP, "test", {names.ALERTS_STREAM: ">"})
    fields = await stream_fields(store, created)
    assert await fan_out(store, created, fields, delivery_settings()) == 0
    assert await store.zcard(names.DELIVERIES_DUE_KEY) == 0


# Fan-out ----------------------------------------------------------------------------------------


async def test_fanning_out_the_same_entry_twice_creates_each_delivery_once(
    store: Redis, receivers: Callable[..., WebhookReceiver]
) -> None:
    first, second = receivers(), receivers()
    settings = delivery_settings()
    await subscribe(store, first, "first")
    await subscribe(store, second, "second")
    entry_id = await publish(store, alert_notification())
    fields = await stream_fields(store, entry_id)

    assert await fan_out(store, entry_id, fields, settings) == 2
    snapshot = {key: await store.hgetall(key) for key in await store.keys(names.delivery_key("*"))}
    assert await fan_out(store, entry_id, fields, settings) == 0

    assert len(snapshot) == 2
    assert {key: await store.hgetall(key) for key in snapshot} == snapshot
    assert await store.zcard(names.DELIVERIES_DUE_KEY) == 2
    for name in ("sub_first", "sub_second"):
        assert await store.llen(names.subscription_deliveries_key(name)) == 1
    pending = await store.xpending(names.ALERTS_STREAM, names.DELIVERY_GROUP)
    assert pending["pending"] == 0, "fan_out acknowledged the entry"
    async with running_worker(store, settings):
        await eventually(lambda: len(first.received) == len(second.received) == 1)
        await asyncio.sleep(0.2)
    assert len(first.received) == len(second.received) == 1


async def test_a_malformed_entry_is_acknowledged_without_deliveries(
    store: Redis, receivers: Callable[..., WebhookReceiver]
) -> None:
    await subscribe(store, receivers(), "any")
    entry_id = str(await store.xadd(names.ALERTS_STREAM, {"event": "firing"}))
    await store.xreadgroup(names.DELIVERY_GROUP, "test", {names.ALERTS_STREAM: ">"})
    assert await fan_out(store, entry_id, {"event": "firing"}, delivery_settings()) == 0
    assert (await store.xpending(names.ALERTS_STREAM, names.DELIVERY_GROUP))["pending"] == 0
    assert await store.zcard(names.DELIVERIES_DUE_KEY) == 0


# Worker ----------------------------------------------------------------------------------------


async def test_a_deleted_subscriptions_pending_delivery_is_dropped_at_once(
    store: Redis, receivers: Callable[..., WebhookReceiver]
) -> None:
    receiver = receivers(default=503)
    settings = delivery_settings(delivery_backoff_s=60, delivery_backoff_max_s=60)
    subscription = await subscribe(store, receiver, "leaving")
    async with running_worker(store, settings):
        await notify(store, settings, alert_notification())
        await eventually(lambda: len(receiver.received) == 1)
        [record] = await deliveries(store, subscription.id)
        await eventually(status_is(store, subscription.id, "pending"))
        # As the ingest's DELETE /v1/subscriptions/{id} does: the subscription, then its deliveries
        assert await SubscriptionStore(store).delete(subscription.id)
        await Deliveries(store).end_for_subscription(subscription.id)

        async def dropped() -> bool:
            fields = await store.hgetall(names.delivery_key(record.id))
            return fields.get("status") == "dead"

        await eventually(dropped, within_s=2)
    final = DeliveryRecord.from_hash(await hash_of(store, names.delivery_key(record.id)))
    assert final.error == "subscription deleted"
    assert [a.status_code for a in final.attempts] == [503]
    assert await store.zcard(names.DELIVERIES_DUE_KEY) == 0
    assert len(receiver.received) == 1


async def test_two_workers_never_send_the_same_delivery_twice(
    store: Redis, receivers: Callable[..., WebhookReceiver]
) -> None:
    receiver = receivers()
    settings = delivery_settings()
    await subscribe(store, receiver, "busy")
    for index in range(30):
        await notify(store, settings, alert_notification(city=f"city-{index}"))
    async with (
        running_worker(store, settings, concurrency=4),
        running_worker(store, settings, concurrency=4),
    ):
        await eventually(lambda: len(receiver.received) >= 30)
        await asyncio.sleep(0.3)
    ids = [r.headers["x-pacer-delivery"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 30
