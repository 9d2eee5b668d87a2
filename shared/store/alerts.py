"""The alerts family: the active alerts and the notifications their changes cause.

Owns ``names.ACTIVE_ALERTS_KEY`` (fingerprint -> an active alert, ``shared.wire_alerts``) and
``names.ALERTS_STATE_FORMAT_KEY`` (which format those records are in), and appends
``names.ALERTS_ENTRY_NOTIFIED`` entries to ``names.ALERTS_STREAM``. The alerting service's
evaluator changes them (``AlertLedger.transition``); the ingest (``GET /v1/alerts``), the exporter
and the soak's check read them (``read_active_alerts``).

A transition reads the active alerts, lets the caller decide the next ones (a pure function), and
writes them with the notifications in one optimistic transaction (WATCH/MULTI): a crash leaves
either the old state or the new one with its notifications, so a restart neither re-fires nor
forgets an alert, and two evaluators racing cannot both send the same notification. Records still
in the v1 format are upgraded in the same transaction, once: the format marker is written with
the result (``shared.domain.alert_state_upgrade``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared import names
from shared.domain.alert_lifecycle import ActiveAlert, Notification, by_group
from shared.domain.alert_state_upgrade import STATE_FORMAT, upgrade_active
from shared.store.client import StoreClient, StoreWatchError
from shared.wire_alerts import decode_active, encode_active, group_entry_fields

Step = Callable[[dict[str, ActiveAlert]], tuple[dict[str, ActiveAlert], list[Notification]]]
"""The active alerts now -> the active alerts next, and the notifications that change causes."""


@dataclass(frozen=True)
class Transition:
    active: dict[str, ActiveAlert]
    """The active alerts after the transition."""
    notifications: list[Notification]
    upgraded_from: int = 0
    """How many v1 records were upgraded on the way (0: none were stored in v1)."""


class AlertLedger(Protocol):
    """What the evaluator needs of the stored alerts (``RedisAlertLedger``, or a test's fake)."""

    async def transition(self, step: Step) -> Transition:
        """Apply ``step`` to the stored active alerts, store the result and append its
        notifications (one alerts-stream entry per group), as one atomic change; ``step`` may
        run more than once (a concurrent change to the alerts makes it start again)."""
        ...


async def read_active_alerts(redis: StoreClient) -> dict[str, ActiveAlert]:
    """Fingerprint -> active alert (firing, or in its resolve hold)."""
    raw = await redis.hgetall(names.ACTIVE_ALERTS_KEY)
    return {str(fp): decode_active(str(doc)) for fp, doc in raw.items()}


class RedisAlertLedger:
    def __init__(self, redis: StoreClient) -> None:
        self._redis = redis

    async def transition(self, step: Step) -> Transition:
        while True:
            try:
                return await self._try(step)
            except StoreWatchError:  # another evaluator changed the alerts meanwhile: redo
                continue

    async def _try(self, step: Step) -> Transition:
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.watch(names.ACTIVE_ALERTS_KEY, names.ALERTS_STATE_FORMAT_KEY)
            stored = await read_active_alerts(pipe)  # watched reads, in immediate mode
            upgrading = await pipe.get(names.ALERTS_STATE_FORMAT_KEY) != STATE_FORMAT
            active = upgrade_active(stored) if upgrading else stored
            new_active, notifications = step(active)
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
        return Transition(new_active, notifications, len(stored) if upgrading else 0)
