"""Evaluates the alert rules against the stored state and records the lifecycle in Redis.

Reading the active alerts, writing the new ones and appending the notifications to the alerts
stream happen in one optimistic transaction (WATCH/MULTI): a crash leaves either the old state or
the new state with its notifications, so a restart neither re-fires nor forgets an alert, and two
evaluators racing cannot both send the same notification. The notifications go on the stream as
one entry per group (``by_group``): the fan-out makes one delivery per entry and subscriber.

Active alerts recorded in the v1 format are upgraded in the same transaction, once: the format
marker is written with the result (``shared.domain.alert_state_upgrade``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import WatchError

from shared import names
from shared.clock import Clock
from shared.domain.alert_lifecycle import ActiveAlert, Notification, advance, by_group
from shared.domain.alert_state_upgrade import STATE_FORMAT, upgrade_active
from shared.domain.alerts import Alert, evaluate_alerts
from shared.domain.state import CityState
from shared.domain.targets import Targets
from shared.store.alerts import read_active_alerts
from shared.store.state import ParsedStates, read_city_states
from shared.wire_alerts import encode_active, group_entry_fields

log = logging.getLogger("pacer.alerting")

Rules = Callable[[Targets, dict[str, CityState], datetime], list[Alert]]
"""What is active at an instant: ``evaluate_alerts``, or a test's own rules."""


@dataclass(frozen=True)
class Evaluation:
    active: dict[str, ActiveAlert]
    notifications: list[Notification]


@dataclass
class Evaluator:
    redis: Redis
    targets: Targets
    clock: Clock
    repeat_interval: timedelta
    resolve_hold: timedelta
    rules: Rules = evaluate_alerts
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _started: int = 0
    """Evaluations started so far (a burst of progress events shares one evaluation)."""
    _last: Evaluation | None = None
    _parsed: ParsedStates = field(default_factory=ParsedStates)
    """The cities' states as last read: an unchanged city is not parsed again."""

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
            states = await read_city_states(
                self.redis,
                list(self.targets.cities),
                judging_up_to=self.targets.gigabit.deadline,
                parsed=self._parsed,
            )
            current = self.rules(self.targets, states, now)
            while True:
                try:
                    self._last = await self._record(current, now)
                    return self._last
                except WatchError:  # another evaluator changed the alerts meanwhile: redo
                    continue

    async def _record(self, current: list[Alert], now: datetime) -> Evaluation:
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.watch(names.ACTIVE_ALERTS_KEY, names.ALERTS_STATE_FORMAT_KEY)
            stored = await read_active_alerts(pipe)  # watched reads, in immediate mode
            upgrading = await pipe.get(names.ALERTS_STATE_FORMAT_KEY) != STATE_FORMAT
            active = upgrade_active(stored) if upgrading else stored
            new_active, notifications = advance(
                active,
                current,
                now,
                repeat_interval=self.repeat_interval,
                resolve_hold=self.resolve_hold,
            )
            pipe.multi()  # type: ignore[no-untyped-call]
            gone = [fp for fp in stored if fp not in new_active]
            if gone:
                pipe.hdel(names.ACTIVE_ALERTS_KEY, *gone)
            for fp, record in new_active.items():
                if stored.get(fp) != record:
                    pipe.hset(names.ACTIVE_ALERTS_KEY, fp, encode_active(record))
            if upgrading:
                pipe.set(names.ALERTS_STATE_FORMAT_KEY, STATE_FORMAT)
            for group in by_group(notifications):
                pipe.xadd(names.ALERTS_STREAM, group_entry_fields(group))  # type: ignore[arg-type]
            await pipe.execute()
        if upgrading and stored:
            log.info("active alerts upgraded: %d records became %d", len(stored), len(active))
        for notification in notifications:
            log.info(
                "%s %s %s", notification.event, notification.alert.name, notification.alert.labels
            )
        return Evaluation(new_active, notifications)
