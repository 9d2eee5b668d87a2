"""From successive evaluations to notifications: fire once, resolve once, repeat while firing.

An alert that disappears is only resolved after it has stayed away for ``resolve_hold``: a value
that flaps around a threshold does not notify on every evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.alerts import Alert


class Event(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"
    REPEAT = "repeat"


@dataclass(frozen=True)
class ActiveAlert:
    """An alert Pacer has notified as firing and not yet as resolved."""

    alert: Alert
    starts_at: datetime
    last_notified_at: datetime
    absent_since: datetime | None = None
    """When the rules stopped producing it; resolved once absent for ``resolve_hold``."""


@dataclass(frozen=True)
class Notification:
    event: Event
    alert: Alert
    starts_at: datetime
    ends_at: datetime | None
    """The resolution instant, for RESOLVED only."""
    at: datetime
    """When the notification was decided (the evaluation's ``now``)."""


def advance(
    active: dict[str, ActiveAlert],
    current: list[Alert],
    now: datetime,
    *,
    repeat_interval: timedelta,
    resolve_hold: timedelta,
) -> tuple[dict[str, ActiveAlert], list[Notification]]:
    """The new set of active alerts (by fingerprint) and the notifications this evaluation sends.

    ``current`` is what the rules produce at ``now``. A new fingerprint fires; one still present
    takes the new annotations silently and repeats once ``repeat_interval`` has passed since it
    was last notified; one that has gone is resolved (``ends_at`` = when it went) after staying
    away for ``resolve_hold``, and comes back silently if it returns before. Nothing repeats while
    absent. Notifications are ordered by fingerprint (at most one per fingerprint).
    """
    produced = {alert.fingerprint: alert for alert in current}
    following: dict[str, ActiveAlert] = {}
    notifications: list[Notification] = []
    for fingerprint in sorted(produced.keys() | active.keys()):
        alert, record = produced.get(fingerprint), active.get(fingerprint)
        if record is None:
            assert alert is not None
            record = ActiveAlert(alert=alert, starts_at=now, last_notified_at=now)
            notifications.append(_notify(Event.FIRING, record, now))
        elif alert is not None:
            record = replace(record, alert=alert, absent_since=None)
            if now - record.last_notified_at >= repeat_interval:
                record = replace(record, last_notified_at=now)
                notifications.append(_notify(Event.REPEAT, record, now))
        else:
            absent_since = record.absent_since or now
            if now - absent_since >= resolve_hold:
                notifications.append(_notify(Event.RESOLVED, record, now, ends_at=absent_since))
                continue
            record = replace(record, absent_since=absent_since)
        following[fingerprint] = record
    return following, notifications


def _notify(
    event: Event, record: ActiveAlert, now: datetime, *, ends_at: datetime | None = None
) -> Notification:
    return Notification(event, record.alert, record.starts_at, ends_at, now)
