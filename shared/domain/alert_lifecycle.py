"""From successive evaluations to notifications: fire once, resolve once, repeat while firing.

An alert that disappears is only resolved after it has stayed away for ``resolve_hold``: a value
that flaps around a threshold does not notify on every evaluation.

Severities are nested (contract §4): while things are bad enough for a ``critical`` alert, the rules
produce its ``warning`` twin (the same labels but ``severity``) as well. Escalation therefore only
fires the critical, de-escalation only resolves it, and recovery resolves both. The critical's
repeats stand for its twin: a warning does not repeat while its critical twin is active.

One evaluation's notifications reach a subscriber as one delivery per group (contract §3):
``by_group`` splits them by ``GROUP_BY``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.alerts import Alert, Severity

GROUP_BY = ("alertname", "program")
"""The labels that make a group; an alert without a ``program`` (ReportOverdue) groups by name."""


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
    absent. A warning whose critical twin is active (produced now, or notified and not yet
    resolved before this evaluation) skips its due repeat: it counts as sent, so the warning's
    reminders resume one interval after the critical's end, not at once. Notifications are ordered
    by fingerprint (at most one per fingerprint).
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
                twin = critical_twin(alert)
                if twin is None or (twin not in produced and twin not in active):
                    notifications.append(_notify(Event.REPEAT, record, now))
        else:
            absent_since = record.absent_since or now
            if now - absent_since >= resolve_hold:
                notifications.append(_notify(Event.RESOLVED, record, now, ends_at=absent_since))
                continue
            record = replace(record, absent_since=absent_since)
        following[fingerprint] = record
    return following, notifications


def critical_twin(alert: Alert) -> str | None:
    """The fingerprint of a warning's critical twin (same labels but ``severity``); None for an
    alert that is not a warning."""
    if alert.labels.get("severity") != Severity.WARNING:
        return None
    return Alert(labels=alert.labels | {"severity": str(Severity.CRITICAL)}).fingerprint


def group_labels(alert: Alert) -> dict[str, str]:
    """The ``groupLabels`` of the alert's group: those of ``GROUP_BY`` that it has."""
    return {name: alert.labels[name] for name in GROUP_BY if name in alert.labels}


def by_group(notifications: Iterable[Notification]) -> list[list[Notification]]:
    """The notifications split into their groups, each keeping the order given; the groups are
    ordered by their labels."""
    groups: dict[tuple[tuple[str, str], ...], list[Notification]] = {}
    for notification in notifications:
        key = tuple(sorted(group_labels(notification.alert).items()))
        groups.setdefault(key, []).append(notification)
    return [groups[key] for key in sorted(groups)]


def _notify(
    event: Event, record: ActiveAlert, now: datetime, *, ends_at: datetime | None = None
) -> Notification:
    return Notification(event, record.alert, record.starts_at, ends_at, now)
