"""The evaluator's own logic, on fakes of the store families (``tests/support/fakes.py``): a burst
of requests shares evaluations, and the lifecycle it hands the alerts family is the domain's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.alerting.evaluator import Evaluator
from shared.clock import fixed_clock
from shared.domain.alert_lifecycle import Event
from shared.domain.alerts import Alert
from shared.domain.state import CityState
from shared.domain.targets import Targets
from shared.targets import load_targets
from tests.support.fakes import FakeAlertLedger, FakeCityStates

NOW = datetime(2024, 10, 15, 4, 0, tzinfo=UTC)
BEHIND = Alert({"alertname": "FiveGBehindPlan", "severity": "warning", "city": "jinan"})


def evaluator(states: FakeCityStates, ledger: FakeAlertLedger, produced: list[Alert]) -> Evaluator:
    def rules(targets: Targets, _: dict[str, CityState], at: datetime) -> list[Alert]:
        return list(produced)

    return Evaluator(
        states,
        ledger,
        load_targets(),
        fixed_clock(NOW),
        repeat_interval=timedelta(hours=4),
        resolve_hold=timedelta(0),
        rules=rules,
    )


async def test_requests_waiting_behind_a_running_evaluation_share_the_next_one() -> None:
    states = FakeCityStates(delay_s=0.01)
    subject = evaluator(states, FakeAlertLedger(), [])
    await asyncio.gather(*(subject.evaluate() for _ in range(20)))
    # the first runs; the 19 that waited behind it share one evaluation that started after them
    assert states.reads == 2
    await subject.evaluate()
    assert states.reads == 3  # a later request always gets a fresh evaluation


async def test_an_alert_is_notified_once_when_it_fires_and_once_when_it_resolves() -> None:
    ledger, produced = FakeAlertLedger(), [BEHIND]
    subject = evaluator(FakeCityStates(), ledger, produced)

    fired = await subject.evaluate()
    assert [(n.event, n.alert) for n in fired.notifications] == [(Event.FIRING, BEHIND)]
    assert list(ledger.active) == [BEHIND.fingerprint]

    again = await subject.evaluate()
    assert again.notifications == []  # still firing, within the repeat interval: nothing new

    produced.clear()
    resolved = await subject.evaluate()
    assert [(n.event, n.alert) for n in resolved.notifications] == [(Event.RESOLVED, BEHIND)]
    assert ledger.active == {}
    assert [[n.event for n in group] for group in ledger.entries] == [
        [Event.FIRING],
        [Event.RESOLVED],
    ]
