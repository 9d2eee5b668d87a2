"""ReportDueSoon reaches a city's subscribers: the evaluator with the reminder on
(``PACER_REPORT_DUE_SOON_DAYS``), the fan-out and the delivery worker as the alerting service wires
them, against real Redis and real webhook receivers."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from services.alerting.delivery import fan_out
from services.alerting.evaluator import Evaluator
from shared import names
from shared.clock import fixed_clock
from shared.domain.alerts import Severity, evaluate_alerts
from shared.store.subscriptions import SubscriptionStore
from shared.targets import load_targets
from shared.wire_alerts import Subscription, SubscriptionFilters
from tests.integration.test_delivery import delivery_settings, eventually, running_worker
from tests.support.webhooks import WebhookReceiver

SECRET = "due-soon-secret-0123456789"
NOW = datetime.fromisoformat("2024-07-08T09:00:00+08:00")
"""Three days before 2024-07-10, with June's reports missing everywhere (and earlier ones)."""


@pytest.fixture
def receivers() -> Iterator[dict[str, WebhookReceiver]]:
    started = {name: WebhookReceiver().__enter__() for name in ("jinan", "critical", "all")}
    yield started
    for receiver in started.values():
        receiver.__exit__()


def alertnames(receiver: WebhookReceiver) -> set[str]:
    return {json.loads(r.body)["groupLabels"]["alertname"] for r in receiver.received}


async def test_a_citys_subscribers_get_the_reminder_as_one_info_delivery(
    store: Redis, receivers: dict[str, WebhookReceiver]
) -> None:
    settings = delivery_settings()
    evaluator = Evaluator.on_store(
        store,
        load_targets(),
        fixed_clock(NOW),
        repeat_interval=timedelta(hours=4),
        resolve_hold=timedelta(0),
        rules=functools.partial(evaluate_alerts, due_soon_days=3),
    )
    filters = {
        "jinan": SubscriptionFilters(cities=["jinan"], severities=[Severity.INFO]),
        "critical": SubscriptionFilters(severities=[Severity.CRITICAL]),
        "all": SubscriptionFilters(),
    }
    for name, receiver in receivers.items():
        subscription = Subscription(
            id=f"sub_{name}", url=receiver.url, secret=SECRET, created_at=NOW, filters=filters[name]
        )
        await SubscriptionStore(store).create(subscription)

    async with running_worker(store, settings):
        await evaluator.evaluate()
        read: Any = await store.xreadgroup(names.DELIVERY_GROUP, "test", {names.ALERTS_STREAM: ">"})
        for _, entries in read:
            for entry_id, fields in entries:
                await fan_out(store, entry_id, fields, settings)
        # Each group is its own delivery: wait for every one the assertions below read, not the
        # first ("all" gets the reminder's and the overdue reports' in either order).
        await eventually(
            lambda: (
                bool(receivers["jinan"].received)
                and {"ReportDueSoon", "ReportOverdue"} <= alertnames(receivers["all"])
            )
        )

    [jinan] = [json.loads(r.body) for r in receivers["jinan"].received]
    assert jinan["groupLabels"] == {"alertname": "ReportDueSoon"}
    assert jinan["commonLabels"] == {
        "alertname": "ReportDueSoon",
        "severity": "info",
        "city": "jinan",
    }
    assert sorted(a["labels"]["kind"] for a in jinan["alerts"]) == ["5g-sites", "gigabit"]
    assert all(
        "due by the end of 2024-07-10" in a["annotations"]["summary"] for a in jinan["alerts"]
    )

    everything = [json.loads(r.body) for r in receivers["all"].received]
    due_soon = [b for b in everything if b["groupLabels"]["alertname"] == "ReportDueSoon"]
    assert len(due_soon) == 1 and len(due_soon[0]["alerts"]) == 2 * 16
    assert any(b["groupLabels"]["alertname"] == "ReportOverdue" for b in everything)
    critical = [json.loads(r.body) for r in receivers["critical"].received]
    assert not [b for b in critical if b["groupLabels"]["alertname"] == "ReportDueSoon"]
