"""Carries the active alerts recorded under contract v1 over to v2 without notifying anyone.

v2 changed two things about an alert's identity, and an unaided first evaluation would announce
both as news: every v1 ReportOverdue resolved and fired again under a new fingerprint, and every
v1 critical alert joined by a freshly firing warning twin. Neither is news to a subscriber, so
the upgrade rewrites the records into what v2 would have recorded had it been running all along:

- ReportOverdue loses its ``program`` label (v2: one alert per city and kind). Its fingerprint
  changes with it; ``starts_at`` and ``last_notified_at`` are kept. Two v1 records that become one
  (the kind's program changed while one was in its resolve hold) merge: the earliest start, the
  latest notification, present if either is.
- A critical FiveGBehindPlan, FiveGProvinceBehindPlan or GigabitIndicatorBelowThreshold without a
  warning twin gets one, recorded as notified when the critical was (v2 nests the severities: a
  subscriber who was told "critical" knows it is at least a warning).

Whatever the v2 rules then no longer produce resolves after the hold as usual: that is news.
Applying the upgrade to v2 records changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from shared.domain.alert_lifecycle import ActiveAlert
from shared.domain.alerts import Alert, AlertName, Severity

STATE_FORMAT = "2"
"""The format of the active alerts this code writes; absent in Redis means v1."""

NESTED_IN_V2 = frozenset(
    {
        AlertName.FIVE_G_BEHIND_PLAN,
        AlertName.FIVE_G_PROVINCE_BEHIND_PLAN,
        AlertName.GIGABIT_INDICATOR_BELOW_THRESHOLD,
    }
)
"""v1 alerts that were either warning or critical and in v2 are a warning with a critical twin."""


def upgrade_active(active: dict[str, ActiveAlert]) -> dict[str, ActiveAlert]:
    """The v1 active alerts (by fingerprint) as v2 records them; a new dict."""
    upgraded: dict[str, ActiveAlert] = {}
    for record in active.values():
        record = _without_overdue_program(record)
        fingerprint = record.alert.fingerprint
        same = upgraded.get(fingerprint)
        upgraded[fingerprint] = record if same is None else _merged(same, record)
    for record in list(upgraded.values()):
        alert = record.alert
        if alert.name not in NESTED_IN_V2 or alert.severity != Severity.CRITICAL:
            continue
        warning = Alert(alert.labels | {"severity": str(Severity.WARNING)}, alert.annotations)
        if warning.fingerprint not in upgraded:
            upgraded[warning.fingerprint] = replace(record, alert=warning)
    return upgraded


def _without_overdue_program(record: ActiveAlert) -> ActiveAlert:
    labels = record.alert.labels
    if labels.get("alertname") != AlertName.REPORT_OVERDUE or "program" not in labels:
        return record
    kept = {name: value for name, value in labels.items() if name != "program"}
    return replace(record, alert=Alert(labels=kept, annotations=record.alert.annotations))


def _merged(one: ActiveAlert, other: ActiveAlert) -> ActiveAlert:
    latest = max(one, other, key=lambda r: (r.absent_since is None, r.last_notified_at))
    absent = [r.absent_since for r in (one, other)]
    return ActiveAlert(
        alert=latest.alert,
        starts_at=min(one.starts_at, other.starts_at),
        last_notified_at=max(one.last_notified_at, other.last_notified_at),
        absent_since=None if None in absent else max(a for a in absent if a is not None),
    )
