"""Evaluates the alert rules against the stored state and records the alerts' lifecycle.

The evaluator reads the cities' state, judges it (``rules``) and hands the lifecycle step to the
alerts family (``shared.store.alerts``), which stores the new active alerts with their
notifications in one atomic change. It depends on the two Protocols only: ``on_store`` wires
them to Redis, a unit test to fakes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.clock import Clock
from shared.domain.alert_lifecycle import ActiveAlert, Notification, advance
from shared.domain.alerts import Alert, evaluate_alerts
from shared.domain.state import CityState
from shared.domain.targets import Targets
from shared.store.alerts import AlertLedger, RedisAlertLedger
from shared.store.client import StoreClient
from shared.store.state import CityStateReader, RedisCityStates

log = logging.getLogger("pacer.alerting")

Rules = Callable[[Targets, dict[str, CityState], datetime], list[Alert]]
"""What is active at an instant: ``evaluate_alerts``, or a test's own rules."""


@dataclass(frozen=True)
class Evaluation:
    active: dict[str, ActiveAlert]
    notifications: list[Notification]


@dataclass
class Evaluator:
    states: CityStateReader
    ledger: AlertLedger
    targets: Targets
    clock: Clock
    repeat_interval: timedelta
    resolve_hold: timedelta
    rules: Rules = evaluate_alerts
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _started: int = 0
    """Evaluations started so far (a burst of progress events shares one evaluation)."""
    _last: Evaluation | None = None

    @classmethod
    def on_store(
        cls,
        redis: StoreClient,
        targets: Targets,
        clock: Clock,
        *,
        repeat_interval: timedelta,
        resolve_hold: timedelta,
        rules: Rules = evaluate_alerts,
    ) -> Evaluator:
        return cls(
            RedisCityStates(redis),
            RedisAlertLedger(redis),
            targets,
            clock,
            repeat_interval,
            resolve_hold,
            rules,
        )

    async def evaluate(self) -> Evaluation:
        """One evaluation at the clock's ``now``; concurrent calls in this process run in turn.

        A call that had to wait while a later-started evaluation ran is answered by that one:
        it read the state after this call's event was applied. Its notifications were already
        returned to the caller that ran it, so the waiter gets none.
        """
        asked_before = self._started
        async with self._lock:
            if self._last is not None and self._started > asked_before:
                return Evaluation(self._last.active, [])
            self._started += 1
            now = self.clock.now()
            states = await self.states.read(
                list(self.targets.cities), judging_up_to=self.targets.gigabit.deadline
            )
            current = self.rules(self.targets, states, now)
            self._last = await self._record(current, now)
            return self._last

    async def _record(self, current: list[Alert], now: datetime) -> Evaluation:
        def step(
            active: dict[str, ActiveAlert],
        ) -> tuple[dict[str, ActiveAlert], list[Notification]]:
            return advance(
                active,
                current,
                now,
                repeat_interval=self.repeat_interval,
                resolve_hold=self.resolve_hold,
            )

        transition = await self.ledger.transition(step)
        if transition.upgraded_from:
            log.info(
                "active alerts upgraded: %d records became %d",
                transition.upgraded_from,
                len(transition.active),
            )
        for notification in transition.notifications:
            log.info(
                "%s %s %s", notification.event, notification.alert.name, notification.alert.labels
            )
        return Evaluation(transition.active, transition.notifications)
