"""Active alerts recorded by the v1 alerting service carry over an upgrade without a burst.

``data/alerts-active-v1.json`` is the active-alerts hash the v1 evaluator (commit 6c602da)
recorded for Jinan, Qingdao and the province, evaluating 2024-07-15 to 2025-01-16 with a day's
resolve hold: ReportOverdue with a ``program`` label, critical FiveGBehindPlan,
FiveGProvinceBehindPlan and GigabitIndicatorBelowThreshold (the last in its resolve hold) with no
warning twin. The evaluator (real Redis, in this process) then runs rules that produce the v2
equivalents of what was firing, and nothing may be notified.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from services.alerting.evaluator import Evaluator, Rules
from shared import names
from shared.clock import fixed_clock
from shared.domain.alert_lifecycle import ActiveAlert, Event
from shared.domain.alert_state_upgrade import NESTED_IN_V2, STATE_FORMAT, upgrade_active
from shared.domain.alerts import Alert
from shared.domain.state import CityState
from shared.domain.targets import Targets
from shared.store.alerts import read_active_alerts
from shared.targets import load_targets
from shared.wire_alerts import decode_active

RECORDED = Path(__file__).parent / "data" / "alerts-active-v1.json"
NOW = datetime.fromisoformat("2025-01-16T10:00:00+08:00")


def recorded_v1() -> dict[str, ActiveAlert]:
    doc = json.loads(RECORDED.read_text(encoding="utf-8"))
    return {fp: decode_active(json.dumps(record)) for fp, record in doc.items()}


def v2_equivalent(alert: Alert) -> list[Alert]:
    """What the v2 rules produce for a v1 alert still firing."""
    labels = alert.labels
    if labels["alertname"] == "ReportOverdue":
        return [Alert({k: v for k, v in labels.items() if k != "program"}, alert.annotations)]
    if labels["alertname"] in NESTED_IN_V2 and labels["severity"] == "critical":
        return [alert, Alert(labels | {"severity": "warning"}, alert.annotations)]
    return [alert]


def v2_rules(firing: list[Alert], dropped: str = "") -> Rules:
    current = [a for alert in firing if alert.name != dropped for a in v2_equivalent(alert)]

    def rules(targets: Targets, states: dict[str, CityState], now: datetime) -> list[Alert]:
        return list(current)

    return rules


def evaluator(store: Redis, targets: Targets, rules: Rules, hold: timedelta) -> Evaluator:
    return Evaluator.on_store(
        store,
        targets,
        fixed_clock(NOW),
        repeat_interval=timedelta(hours=4),
        resolve_hold=hold,
        rules=rules,
    )


def overdue_times(
    active: dict[str, ActiveAlert],
) -> dict[tuple[str, str], tuple[datetime, datetime]]:
    return {
        (r.alert.labels["city"], r.alert.labels["kind"]): (r.starts_at, r.last_notified_at)
        for r in active.values()
        if r.alert.name == "ReportOverdue"
    }


async def load(store: Redis) -> dict[str, ActiveAlert]:
    doc = json.loads(RECORDED.read_text(encoding="utf-8"))
    for fingerprint, record in doc.items():
        raw = json.dumps(record, sort_keys=True, ensure_ascii=False)  # as encode_active wrote it
        await store.hset(names.ACTIVE_ALERTS_KEY, fingerprint, raw)
    return recorded_v1()


async def test_v1_alerts_carry_over_without_a_notification_even_with_two_evaluators(
    store: Redis,
) -> None:
    v1 = await load(store)
    firing = [r.alert for r in v1.values() if r.absent_since is None]
    assert {r.alert.name for r in v1.values() if r.absent_since} == {
        "GigabitIndicatorBelowThreshold"
    }
    assert sum(1 for a in firing if a.name == "ReportOverdue" and "program" in a.labels) == 4
    targets = load_targets()
    two = [evaluator(store, targets, v2_rules(firing), timedelta(days=1)) for _ in range(2)]

    results = await asyncio.gather(*(e.evaluate() for e in two))  # racing instances

    assert [r.notifications for r in results] == [[], []]
    assert await store.xlen(names.ALERTS_STREAM) == 0
    assert await store.get(names.ALERTS_STATE_FORMAT_KEY) == STATE_FORMAT
    upgraded = await read_active_alerts(store)
    assert upgraded == upgrade_active(v1)
    # Four criticals got their warning twin (two cities' and the province's 5g-2025, Jinan's
    # indicator); the four ReportOverdue (two cities, two kinds) stay four.
    assert len(upgraded) == len(v1) + 4
    for record in upgraded.values():
        labels = record.alert.labels
        assert not (labels["alertname"] == "ReportOverdue" and "program" in labels)
    assert overdue_times(upgraded) == overdue_times(v1)

    # Later evaluations: the marker says upgraded, the alerts stay quiet.
    later = await two[0].evaluate()
    assert later.notifications == []
    assert await store.xlen(names.ALERTS_STREAM) == 0


async def test_what_the_v2_rules_no_longer_produce_resolves_after_the_hold(store: Redis) -> None:
    v1 = await load(store)
    firing = [r.alert for r in v1.values() if r.absent_since is None]
    rules = v2_rules(firing, dropped="GigabitStandardNotMet")
    result = await evaluator(store, load_targets(), rules, timedelta(0)).evaluate()

    resolved = sorted(
        (n.alert.name, n.alert.labels.get("city", ""), n.alert.severity)
        for n in result.notifications
    )
    assert {n.event for n in result.notifications} == {Event.RESOLVED}
    assert resolved == [
        # in its resolve hold already at the upgrade: it ends, twin included
        ("GigabitIndicatorBelowThreshold", "jinan", "critical"),
        ("GigabitIndicatorBelowThreshold", "jinan", "warning"),
        ("GigabitStandardNotMet", "jinan", "critical"),
        ("GigabitStandardNotMet", "qingdao", "critical"),
    ]
    assert await store.xlen(names.ALERTS_STREAM) == 2  # one entry per alertname
