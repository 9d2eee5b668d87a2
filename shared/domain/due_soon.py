"""ReportDueSoon: a reminder, before the due day, of a month's report that has not arrived.

Optional (``PACER_REPORT_DUE_SOON_DAYS``, 0 = off). With N days, a city gets one ``info`` alert
per report kind from the start of day ``due_day - N`` of the month after M (never before that
month begins: M must be over) until the end of the due day, while it has no applied report of
the kind for M and the kind is required for M (a programme it feeds is open then, contract
section 1). Past the due day the reminder goes and ReportOverdue takes over.

Labels as ReportOverdue's: alertname, severity (``info``), city, kind; no programme. Its words
name the month and the due day, not the days left, so they do not change while it is active.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shared.domain.alerts import Alert, AlertName, Severity
from shared.domain.calendar import Period, due_instant, local_date, start_of_day
from shared.domain.state import CityState, ReportKind
from shared.domain.targets import City, Targets


def due_soon_alerts(
    targets: Targets, states: dict[str, CityState], now: datetime, days_before: int
) -> list[Alert]:
    """The reminders active at ``now`` for every city of ``targets`` (none if ``days_before``
    is 0)."""
    if days_before <= 0:
        return []
    month = _month_coming_due(now, targets.reporting.due_day, days_before)
    if month is None:
        return []
    alerts: list[Alert] = []
    for kind in ReportKind:
        window = targets.reporting_window(kind)
        if window is None or not window.requires(month):
            continue
        for city in targets.cities.values():
            state = states.get(city.id, CityState(city.id))
            if month not in state.reported_periods.get(kind, frozenset()):
                alerts.append(_reminder(city, kind, month, targets.reporting.due_day))
    return alerts


def _month_coming_due(now: datetime, due_day: int, days_before: int) -> Period | None:
    """The month whose report is due within ``days_before`` days (by the end of the due day),
    if the reminder for it has begun at ``now``."""
    month = Period.of(local_date(now)).previous()  # the only month that can be due this month
    due = due_instant(month, due_day)
    reminding_from = max(
        start_of_day(_due_date(month, due_day) - timedelta(days=days_before)),
        start_of_day(month.next().first_day),
    )
    return month if reminding_from <= now < due else None


def _due_date(month: Period, due_day: int) -> date:
    following = month.next()
    return date(following.year, following.month, due_day)


def _reminder(city: City, kind: ReportKind, month: Period, due_day: int) -> Alert:
    due = _due_date(month, due_day)
    return Alert(
        labels={
            "alertname": str(AlertName.REPORT_DUE_SOON),
            "severity": str(Severity.INFO),
            "city": city.id,
            "kind": str(kind),
        },
        annotations={
            "summary": f"{city.name_en}: the {kind} report for {month} is due by the end of "
            f"{due} and has not arrived",
            "description": f"No {kind} report for {month} has been applied yet; it is due by the "
            f"end of {due} (Asia/Shanghai), after which it is overdue (ReportOverdue). "
            "A reminder, not a problem yet.",
        },
    )
