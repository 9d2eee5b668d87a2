"""From successive evaluations to notifications (shared/domain/alert_lifecycle.py, contract §4).

The table tests replay a sequence of evaluations, each a minute offset and the alerts the rules
produced then, and list every notification as (minute, event, alert).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.domain.alert_lifecycle import ActiveAlert, Event, Notification, advance
from shared.domain.alerts import Alert

CST = timezone(timedelta(hours=8))
T0 = datetime(2024, 7, 15, 12, 0, tzinfo=CST)
REPEAT = timedelta(hours=4)
HOLD = timedelta(minutes=10)

BEHIND = {"alertname": "FiveGBehindPlan", "program": "5g-2025", "city": "jinan"}
ALERTS = {
    "warning": Alert(BEHIND | {"severity": "warning"}, {"summary": "attainment 0.85"}),
    "critical": Alert(BEHIND | {"severity": "critical"}, {"summary": "attainment 0.70"}),
    "overdue": Alert(
        {
            "alertname": "ReportOverdue",
            "severity": "warning",
            "program": "gigabit-2024",
            "city": "jinan",
            "kind": "gigabit",
        },
        {"summary": "June missing"},
    ),
}
KEY_OF = {alert.fingerprint: key for key, alert in ALERTS.items()}

FIRING, REPEATED, RESOLVED = Event.FIRING, Event.REPEAT, Event.RESOLVED

Step = tuple[int, tuple[str, ...]]
Logged = tuple[int, Event, str]


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def replay(
    steps: list[Step], *, repeat_interval: timedelta = REPEAT, resolve_hold: timedelta = HOLD
) -> tuple[dict[str, ActiveAlert], list[Logged]]:
    active: dict[str, ActiveAlert] = {}
    log: list[Logged] = []
    for minute, present in steps:
        current = [ALERTS[key] for key in present]
        active, notifications = advance(
            active,
            current,
            at(minute),
            repeat_interval=repeat_interval,
            resolve_hold=resolve_hold,
        )
        log += [(minute, n.event, KEY_OF[n.alert.fingerprint]) for n in notifications]
    return active, log


WARN, CRIT, LATE = ("warning",), ("critical",), ("overdue",)
BOTH = ("warning", "critical")  # nested severities: below 0.75 the rules produce both twins
NONE: tuple[str, ...] = ()


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param(
            [(0, WARN), (1, WARN), (2, WARN), (239, WARN)],
            [(0, FIRING, "warning")],
            id="fires once and stays quiet on the next evaluations",
        ),
        pytest.param(
            [(0, WARN), (239, WARN), (240, WARN), (241, WARN), (479, WARN), (480, WARN)],
            [(0, FIRING, "warning"), (240, REPEATED, "warning"), (480, REPEATED, "warning")],
            id="repeats every interval exactly",
        ),
        pytest.param(
            [(0, WARN), (5, NONE), (14, NONE), (15, NONE), (16, NONE), (600, NONE)],
            [(0, FIRING, "warning"), (15, RESOLVED, "warning")],
            id="resolves once, after the hold",
        ),
        pytest.param(
            [
                (0, WARN),
                (5, NONE),
                (8, WARN),
                (10, NONE),
                (12, WARN),
                (14, NONE),
                (20, WARN),
                (30, WARN),
            ],
            [(0, FIRING, "warning")],
            id="flapping within the hold notifies only the first firing",
        ),
        pytest.param(
            [(0, WARN), (5, NONE), (8, WARN), (10, NONE), (20, NONE), (25, NONE)],
            [(0, FIRING, "warning"), (20, RESOLVED, "warning")],
            id="the hold restarts when it comes back",
        ),
        pytest.param(
            [(0, WARN), (1, NONE), (11, NONE), (12, WARN)],
            [(0, FIRING, "warning"), (11, RESOLVED, "warning"), (12, FIRING, "warning")],
            id="coming back after the resolution fires again",
        ),
        pytest.param(
            [(0, WARN), (235, NONE), (241, NONE), (245, NONE)],
            [(0, FIRING, "warning"), (245, RESOLVED, "warning")],
            id="nothing repeats while absent",
        ),
        pytest.param(
            [(0, WARN), (235, NONE), (241, WARN)],
            [(0, FIRING, "warning"), (241, REPEATED, "warning")],
            id="a repeat falling due while it was away is sent when it returns",
        ),
        pytest.param(
            [(0, WARN), (5, BOTH), (30, WARN), (40, WARN), (60, NONE), (70, NONE)],
            [
                (0, FIRING, "warning"),
                (5, FIRING, "critical"),
                (40, RESOLVED, "critical"),
                (70, RESOLVED, "warning"),
            ],
            id="warning, critical, warning, clear: fire, fire, resolve the critical, resolve",
        ),
        pytest.param(
            [(0, WARN), (5, BOTH), (10, BOTH), (600, BOTH)],
            [(0, FIRING, "warning"), (5, FIRING, "critical"), (600, REPEATED, "critical")],
            id="escalation fires the critical and resolves nothing",
        ),
        pytest.param(
            [(0, BOTH), (5, NONE), (15, NONE)],
            [
                (0, FIRING, "critical"),
                (0, FIRING, "warning"),
                (15, RESOLVED, "critical"),
                (15, RESOLVED, "warning"),
            ],
            id="straight past both tolerances fires both, and recovery resolves both",
        ),
        pytest.param(
            [
                (0, WARN),
                (5, BOTH),
                (240, BOTH),
                (245, BOTH),
                (300, WARN),
                (310, WARN),
                (479, WARN),
                (480, WARN),
            ],
            [
                (0, FIRING, "warning"),
                (5, FIRING, "critical"),
                (245, REPEATED, "critical"),
                (310, RESOLVED, "critical"),
                (480, REPEATED, "warning"),
            ],
            id="a warning does not repeat while its critical twin fires; its reminders resume",
        ),
        pytest.param(
            [(0, BOTH), (235, WARN), (241, WARN), (245, WARN), (480, WARN), (481, WARN)],
            [
                (0, FIRING, "critical"),
                (0, FIRING, "warning"),
                (245, RESOLVED, "critical"),
                (481, REPEATED, "warning"),
            ],
            id="nor while its critical twin is in its resolve hold",
        ),
        pytest.param(
            [(0, ("overdue",)), (240, ("overdue", "critical"))],
            [(0, FIRING, "overdue"), (240, FIRING, "critical"), (240, REPEATED, "overdue")],
            id="a critical that is not its twin suppresses nothing",
        ),
        pytest.param(
            [(0, WARN), (5, CRIT), (10, CRIT), (15, CRIT)],
            [(0, FIRING, "warning"), (5, FIRING, "critical"), (15, RESOLVED, "warning")],
            id="the lifecycle follows the rules: a warning they stop producing resolves",
        ),
        pytest.param(
            [(0, WARN), (1, WARN + LATE), (2, LATE), (12, LATE)],
            [(0, FIRING, "warning"), (1, FIRING, "overdue"), (12, RESOLVED, "warning")],
            id="alerts are independent of each other",
        ),
    ],
)
def test_lifecycle(steps: list[Step], expected: list[Logged]) -> None:
    assert sorted(replay(steps)[1]) == sorted(expected)  # one evaluation's: by fingerprint


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param(
            [(0, WARN), (1, NONE), (2, NONE)],
            [(0, FIRING, "warning"), (1, RESOLVED, "warning")],
            id="resolves on the first evaluation without it",
        ),
        pytest.param(
            [(0, WARN), (5, BOTH), (6, WARN), (7, NONE)],
            [
                (0, FIRING, "warning"),
                (5, FIRING, "critical"),
                (6, RESOLVED, "critical"),
                (7, RESOLVED, "warning"),
            ],
            id="nested severities: each change notifies in its own evaluation",
        ),
    ],
)
def test_without_a_resolve_hold_resolution_is_immediate(
    steps: list[Step], expected: list[Logged]
) -> None:
    _, log = replay(steps, resolve_hold=timedelta(0))
    assert sorted(log) == sorted(expected)  # within one evaluation the order is by fingerprint


def test_a_firing_notification_starts_now_and_has_no_end() -> None:
    active, notifications = advance(
        {}, [ALERTS["warning"]], at(0), repeat_interval=REPEAT, resolve_hold=HOLD
    )
    fingerprint = ALERTS["warning"].fingerprint
    assert notifications == [Notification(FIRING, ALERTS["warning"], at(0), None, at(0))]
    assert active == {fingerprint: ActiveAlert(ALERTS["warning"], at(0), at(0))}


def test_a_repeat_keeps_the_start_and_records_when_it_was_sent() -> None:
    active, _ = replay([(0, WARN), (240, WARN)])
    record = active[ALERTS["warning"].fingerprint]
    assert record.starts_at == at(0)
    assert record.last_notified_at == at(240)
    _, notifications = advance(
        active, [ALERTS["warning"]], at(300), repeat_interval=REPEAT, resolve_hold=HOLD
    )
    assert notifications == []


def test_a_resolution_ends_when_the_alert_went_away_not_when_the_hold_ran_out() -> None:
    active, _ = replay([(0, WARN), (5, NONE)])
    assert active[ALERTS["warning"].fingerprint].absent_since == at(5)
    after, notifications = advance(active, [], at(15), repeat_interval=REPEAT, resolve_hold=HOLD)
    assert notifications == [Notification(RESOLVED, ALERTS["warning"], at(0), at(5), at(15))]
    assert after == {}


def test_new_numbers_replace_the_annotations_without_a_notification() -> None:
    active, _ = replay([(0, WARN)])
    moved = Alert(ALERTS["warning"].labels, {"summary": "attainment 0.86"})
    after, notifications = advance(
        active, [moved], at(1), repeat_interval=REPEAT, resolve_hold=HOLD
    )
    assert notifications == []
    assert after[moved.fingerprint] == ActiveAlert(moved, starts_at=at(0), last_notified_at=at(0))


def test_a_resolution_carries_the_last_annotations_seen() -> None:
    moved = Alert(ALERTS["warning"].labels, {"summary": "attainment 0.89"})
    active, _ = replay([(0, WARN)])
    active, _ = advance(active, [moved], at(1), repeat_interval=REPEAT, resolve_hold=HOLD)
    _, notifications = advance(active, [], at(2), repeat_interval=REPEAT, resolve_hold=timedelta(0))
    assert [n.alert.annotations for n in notifications] == [{"summary": "attainment 0.89"}]


def test_returning_within_the_hold_clears_the_absence() -> None:
    active, _ = replay([(0, WARN), (5, NONE), (8, WARN)])
    assert active[ALERTS["warning"].fingerprint].absent_since is None
    assert active[ALERTS["warning"].fingerprint].starts_at == at(0)


def test_notifications_are_ordered_by_fingerprint() -> None:
    _, notifications = advance(
        {}, list(ALERTS.values()), at(0), repeat_interval=REPEAT, resolve_hold=HOLD
    )
    fingerprints = [n.alert.fingerprint for n in notifications]
    assert fingerprints == sorted(a.fingerprint for a in ALERTS.values())


def test_advance_does_not_change_the_active_alerts_it_was_given() -> None:
    active, _ = replay([(0, WARN)])
    snapshot = dict(active)
    advance(active, [ALERTS["critical"]], at(300), repeat_interval=REPEAT, resolve_hold=HOLD)
    assert active == snapshot
