"""From successive evaluations to notifications: fire once, resolve once, repeat while firing.

An alert that disappears is only resolved after it has stayed away for ``resolve_hold``: a value
that flaps around a threshold does not notify on every evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    """The new set of active alerts (by fingerprint) and the notifications this evaluation sends."""
    raise NotImplementedError  # implemented by the domain work of the alerting issue
