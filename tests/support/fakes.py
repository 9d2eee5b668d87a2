"""Small in-memory fakes of the store families' Protocols, for unit tests of the services' logic.

Each fake is held to its family's behaviour by a contract test that runs the same assertions on
the fake and on the real family against a real redis-server
(``tests/integration/test_store_family_contracts.py``).
"""

from __future__ import annotations

import asyncio
from datetime import date

from shared.domain.alert_lifecycle import ActiveAlert, Notification, by_group
from shared.domain.state import CityState, ReportKind
from shared.store.alerts import Step, Transition


class FakeCityStates:
    """``CityStateReader``: the states it was given; a city it was not given has reported
    nothing."""

    def __init__(self, states: dict[str, CityState] | None = None, delay_s: float = 0.0) -> None:
        self.states = dict(states or {})
        self.delay_s = delay_s
        """How long a read takes (a read is where a real evaluation waits on Redis)."""
        self.reads = 0

    async def read(
        self, cities: list[str], *, judging_up_to: date | None = None
    ) -> dict[str, CityState]:
        self.reads += 1
        await asyncio.sleep(self.delay_s)
        return {city: self.states.get(city, reported_nothing(city)) for city in cities}


def reported_nothing(city: str) -> CityState:
    """A city's state before its first report, as the store reads it."""
    return CityState(
        city=city,
        reported_periods={kind: frozenset() for kind in ReportKind},
        period_received={kind: {} for kind in ReportKind},
    )


class FakeAlertLedger:
    """``AlertLedger``: the active alerts in a dict, each transition's groups in a list."""

    def __init__(self) -> None:
        self.active: dict[str, ActiveAlert] = {}
        self.entries: list[list[Notification]] = []
        """One per group and transition, as the alerts stream gets them."""

    async def transition(self, step: Step) -> Transition:
        new_active, notifications = step(dict(self.active))
        self.active = dict(new_active)
        self.entries += by_group(notifications)
        return Transition(dict(new_active), list(notifications))
