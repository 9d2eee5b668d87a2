"""What a subscriber receives (contract v2 §3, §4): one delivery per group per evaluation, the
active alerts at once when it subscribes, and no ``resolved`` on escalation.

The first runs the real ingest and alerting services against real Redis and real webhook
receivers; it counts groups rather than name alerts, so it holds for the v1 and the v2 rules.
The escalation runs the evaluator in this process with rules of its own (the nested twins of v2),
and the fan-out and delivery worker as the alerting service wires them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from redis.asyncio import Redis

from services.alerting.delivery import fan_out
from services.alerting.evaluator import Evaluator
from shared import names
from shared.clock import fixed_clock
from shared.domain.alert_lifecycle import ActiveAlert
from shared.domain.alert_state_upgrade import STATE_FORMAT
from shared.domain.alerts import Alert
from shared.domain.state import CityState
from shared.domain.targets import Targets
from shared.store.subscriptions import SubscriptionStore
from shared.targets import load_targets
from shared.wire_alerts import Subscription, encode_active
from tests.conftest import ADMIN_TOKEN
from tests.integration.test_delivery import delivery_settings, eventually, running_worker
from tests.support.processes import Service, ingest_running, wait_until
from tests.support.reports import bearer
from tests.support.webhooks import Received, WebhookReceiver

ADMIN = bearer(ADMIN_TOKEN)
SECRET = "group-secret-0123456789"


@pytest.fixture(scope="module")
def ingest(
    redis_server: Any, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    logs = tmp_path_factory.mktemp("logs")
    # the receivers are on loopback
    with ingest_running(
        redis_server.url, tokens_file, logs, PACER_WEBHOOK_ALLOWED_HOSTS="127.0.0.1"
    ) as service:
        yield service


@pytest.fixture
def api(ingest: Service, redis_client: redis.Redis) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest.url, timeout=10, headers=ADMIN) as client:
        yield client


@pytest.fixture
def receivers() -> Iterator[Callable[[], WebhookReceiver]]:
    started: list[WebhookReceiver] = []

    def start() -> WebhookReceiver:
        started.append(WebhookReceiver().__enter__())
        return started[-1]

    yield start
    for receiver in started:
        receiver.__exit__()


def subscribe(api: httpx.Client, receiver: WebhookReceiver, **filters: list[str]) -> str:
    body = {"url": receiver.url, "secret": SECRET, "filters": filters}
    response = api.post("/v1/subscriptions", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def bodies(requests: list[Received]) -> list[dict[str, Any]]:
    return [r.json() for r in requests]


def delivered(receiver: WebhookReceiver) -> list[str]:
    return [a["fingerprint"] for body in bodies(receiver.received) for a in body["alerts"]]


def group_of(labels: dict[str, str]) -> tuple[str, str]:
    return labels["alertname"], labels.get("program", "")


def assert_one_delivery_per_group(requests: list[Received], expected: list[dict[str, Any]]) -> None:
    """``expected``: the alerts (as ``GET /v1/alerts`` lists them) that ``requests`` must carry,
    each once, all firing, in exactly one delivery per group."""
    received = bodies(requests)
    fingerprints = [a["fingerprint"] for body in received for a in body["alerts"]]
    assert sorted(fingerprints) == sorted(a["fingerprint"] for a in expected)
    assert len(received) == len({group_of(a["labels"]) for a in expected})
    assert len({b["groupKey"] for b in received}) == len(received)
    ids = [r.headers["x-pacer-delivery"] for r in requests]
    assert len(set(ids)) == len(ids)
    starts = {a["fingerprint"]: a["startsAt"] for a in expected}
    for body in received:
        assert body["status"] == "firing"
        assert {group_of(a["labels"]) for a in body["alerts"]} == {group_of(body["groupLabels"])}
        for alert in body["alerts"]:
            assert alert["status"] == "firing"
            assert datetime.fromisoformat(alert["startsAt"]) == datetime.fromisoformat(
                starts[alert["fingerprint"]]
            )


def five_behind_on_5g_2027(now: datetime) -> list[ActiveAlert]:
    """Five alerts of one group that neither the v1 nor the v2 rules produce at 2024-07-15 with
    nothing reported: kept active by a day's resolve hold, one already in it."""
    labels = {"alertname": "FiveGBehindPlan", "severity": "warning", "program": "5g-2027"}
    return [
        ActiveAlert(
            Alert(labels | {"city": city}, {"summary": f"{city} is behind", "description": "..."}),
            now - timedelta(days=30 - n),
            now - timedelta(days=30 - n),
            absent_since=now - timedelta(hours=1) if n == 4 else None,
        )
        for n, city in enumerate(["jinan", "qingdao", "zibo", "heze", "weihai"])
    ]


@pytest.mark.slow
def test_subscribers_get_active_alerts_at_once_and_each_evaluation_one_delivery_per_group(
    api: httpx.Client,
    redis_client: redis.Redis,
    service_env: dict[str, str],
    make_service: Callable[..., Service],
    receivers: Callable[[], WebhookReceiver],
) -> None:
    now = datetime.fromisoformat("2024-07-15T12:00:00+08:00")
    five = five_behind_on_5g_2027(now)
    for record in five:
        redis_client.hset(names.ACTIVE_ALERTS_KEY, record.alert.fingerprint, encode_active(record))
    redis_client.set(names.ALERTS_STATE_FORMAT_KEY, STATE_FORMAT)
    everything, jinan = receivers(), receivers()
    subscribe(api, everything)  # while the five are active
    # Nothing reported by 2024-07-15: every city is overdue, and (v1 rules) behind.
    env = service_env | {
        "PACER_CLOCK": f"fixed:{now.isoformat()}",
        "PACER_EVAL_INTERVAL": "0.5",
        "PACER_RESOLVE_HOLD": "86400",
    }
    make_service("alerting", env)
    wait_until(lambda: len(delivered(everything)) >= 5 + 20, timeout=30)
    active = api.get("/v1/alerts").json()
    subscribe(api, jinan, cities=["jinan"])  # while the alerting service runs
    jinan_active = [a for a in active if a["labels"].get("city") == "jinan"]
    wait_until(lambda: len(delivered(jinan)) >= len(jinan_active), timeout=20)
    time.sleep(1.5)  # three more evaluations: nothing else may arrive

    assert api.get("/v1/alerts").json() == active
    # The five active when it subscribed, at once, in one delivery: their group's. (The
    # deliveries are sent concurrently: in no particular order.)
    group = {"alertname": "FiveGBehindPlan", "program": "5g-2027"}
    [snapshot] = [r for r in everything.received if r.json()["groupLabels"] == group]
    evaluated = [r for r in everything.received if r is not snapshot]
    body = snapshot.json()
    assert sorted(a["fingerprint"] for a in body["alerts"]) == sorted(
        r.alert.fingerprint for r in five
    )
    assert {a["status"] for a in body["alerts"]} == {"firing"}
    assert {datetime.fromisoformat(a["startsAt"]) for a in body["alerts"]} == {
        r.starts_at for r in five
    }
    assert body["commonLabels"] == {
        "alertname": "FiveGBehindPlan",
        "severity": "warning",
        "program": "5g-2027",
    }
    # The first evaluation's alerts (at least 20): one delivery per group.
    fired = [a for a in active if a["fingerprint"] not in {r.alert.fingerprint for r in five}]
    assert len(fired) >= 20
    assert_one_delivery_per_group(evaluated, fired)
    assert len(evaluated) < len(fired), "fewer deliveries than alerts"
    # A subscriber arriving later gets what is active for it, its five in hold included.
    assert_one_delivery_per_group(jinan.received, jinan_active)
    assert any(a["labels"].get("program") == "5g-2027" for a in jinan_active)


# Escalation, in this process -------------------------------------------------------------------

BEHIND = {"alertname": "FiveGBehindPlan", "program": "5g-2025", "city": "jinan"}
WARNING = Alert(BEHIND | {"severity": "warning"}, {"summary": "attainment 0.85"})
CRITICAL = Alert(BEHIND | {"severity": "critical"}, {"summary": "attainment 0.70"})


async def test_escalation_sends_no_resolved_and_each_change_is_one_delivery(
    store: Redis, receivers: Callable[[], WebhookReceiver]
) -> None:
    receiver = receivers()
    settings = delivery_settings()
    now = datetime.fromisoformat("2024-10-15T12:00:00+08:00")
    produced: list[Alert] = []

    def rules(targets: Targets, states: dict[str, CityState], at: datetime) -> list[Alert]:
        return list(produced)

    evaluator = Evaluator.on_store(
        store,
        load_targets(),
        fixed_clock(now),
        repeat_interval=timedelta(hours=4),
        resolve_hold=timedelta(0),
        rules=rules,
    )
    subscription = Subscription(id="sub_esc", url=receiver.url, secret=SECRET, created_at=now)
    await SubscriptionStore(store).create(subscription)

    async def evaluate_and_deliver(*alerts: Alert) -> None:
        produced[:] = alerts
        await evaluator.evaluate()
        read: Any = await store.xreadgroup(names.DELIVERY_GROUP, "test", {names.ALERTS_STREAM: ">"})
        for _, entries in read:
            for entry_id, fields in entries:
                await fan_out(store, entry_id, fields, settings)

    steps = [(WARNING,), (WARNING, CRITICAL), (WARNING,), ()]
    async with running_worker(store, settings):
        for number, alerts in enumerate(steps, start=1):
            await evaluate_and_deliver(*alerts)
            await eventually(lambda n=number: len(receiver.received) == n)

    summary = [
        (b["status"], [(a["status"], a["labels"]["severity"]) for a in b["alerts"]])
        for b in bodies(receiver.received)
    ]
    assert summary == [
        ("firing", [("firing", "warning")]),
        ("firing", [("firing", "critical")]),  # escalation: nothing resolved
        ("resolved", [("resolved", "critical")]),  # de-escalation: the critical only
        ("resolved", [("resolved", "warning")]),  # recovery
    ]
