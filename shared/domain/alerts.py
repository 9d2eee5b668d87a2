"""Alert rules: which alerts are active for given targets, state and ``now`` (contract §4).

Pure functions; the alerting service evaluates them after every applied report and on a timer,
and ``shared.domain.alert_lifecycle`` turns successive evaluations into notifications.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property

from shared.domain import alert_annotations as words
from shared.domain.plan import Status
from shared.domain.progress import (
    GigabitProgress,
    SiteProgress,
    city_gigabit_progress,
    city_site_progress,
    province_site_counts,
    province_site_progress,
    report_standing,
)
from shared.domain.state import CityState, ReportKind
from shared.domain.targets import City, GigabitProgram, SiteProgram, Targets


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"
    INFO = "info"  # ReportDueSoon only (shared.domain.due_soon)


class AlertName(StrEnum):
    FIVE_G_BEHIND_PLAN = "FiveGBehindPlan"
    FIVE_G_PROJECTED_MISS = "FiveGProjectedMiss"
    FIVE_G_TARGET_MISSED = "FiveGTargetMissed"
    FIVE_G_PROVINCE_BEHIND_PLAN = "FiveGProvinceBehindPlan"
    GIGABIT_INDICATOR_BELOW_THRESHOLD = "GigabitIndicatorBelowThreshold"
    GIGABIT_STANDARD_NOT_MET = "GigabitStandardNotMet"
    REPORT_OVERDUE = "ReportOverdue"
    REPORT_DUE_SOON = "ReportDueSoon"


@dataclass(frozen=True)
class Alert:
    """One active alert. Its identity (fingerprint) is its label set; annotations carry numbers."""

    labels: dict[str, str]
    """alertname, severity, and where it applies program, city, indicator, kind."""
    annotations: dict[str, str] = field(default_factory=dict)
    """summary and description, with the numbers (actual, expected, shortfall, projection)."""

    @cached_property
    def fingerprint(self) -> str:
        """Computed once per alert: an evaluation asks each alert's several times (sorting,
        the lifecycle, the critical twin), ~30,000 SHA-256s at 340 cities."""
        canonical = "\x1f".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def name(self) -> str:
        return self.labels["alertname"]

    @property
    def severity(self) -> str:
        return self.labels["severity"]


def evaluate_alerts(
    targets: Targets, states: dict[str, CityState], now: datetime, *, due_soon_days: int = 0
) -> list[Alert]:
    """Every alert that is active at ``now``, sorted by fingerprint.

    Each city and programme is judged at its judgement day (contract §1.1), never at ``now``
    itself; ``now`` decides only which reports are past due. Every city of ``targets`` is judged,
    a city without state as one that reported nothing (``no_data``: it raises only
    ReportOverdue); states of cities outside ``targets`` are ignored.

    Severities are nested: whatever raises a ``critical`` alert also raises its ``warning`` twin
    (same labels but the severity), so escalation adds an alert and resolves none.

    ``due_soon_days`` > 0 adds the ``info`` reminders of ``shared.domain.due_soon``.
    """
    known = {cid: states.get(cid, CityState(city=cid)) for cid in targets.cities}
    found: list[Alert] = []
    province_counts = province_site_counts(targets, known) if targets.site_programs else None
    for site_program in targets.site_programs:
        for city in targets.cities.values():
            progress = city_site_progress(targets, site_program, city, known[city.id], now)
            found += _city_site_alerts(site_program, city, progress)
        province = province_site_progress(targets, site_program, known, now, counts=province_counts)
        found += _province_alerts(site_program, province)
    for gigabit_program in targets.gigabit_programs:
        for city in targets.cities.values():
            gigabit = city_gigabit_progress(targets, gigabit_program, known[city.id], now)
            found += _gigabit_alerts(gigabit_program, city, gigabit)
    for city in targets.cities.values():
        found += _overdue_alerts(targets, city, known[city.id], now)
    from shared.domain.due_soon import due_soon_alerts  # it builds on this module's Alert

    found += due_soon_alerts(targets, known, now, due_soon_days)
    return sorted(found, key=lambda alert: alert.fingerprint)


_NESTED_SEVERITIES: dict[Status, tuple[Severity, ...]] = {
    Status.AT_RISK: (Severity.WARNING,),
    Status.BEHIND: (Severity.WARNING, Severity.CRITICAL),
}
"""Behind plan: at risk (under the warning tolerance) warns; behind (under the critical one)
warns and is critical. Met, missed, on track and no data are never behind plan."""


def _alerts(
    name: AlertName,
    severities: tuple[Severity, ...],
    annotations: dict[str, str],
    **scope: str,
) -> list[Alert]:
    return [
        Alert(
            labels={"alertname": str(name), "severity": str(severity)} | scope,
            annotations=annotations,
        )
        for severity in severities
    ]


def _city_site_alerts(program: SiteProgram, city: City, progress: SiteProgress) -> list[Alert]:
    subject = city.name_en
    behind = _NESTED_SEVERITIES.get(progress.status, ())
    alerts = _alerts(
        AlertName.FIVE_G_BEHIND_PLAN,
        behind,
        # words only for an alert that fires: most cities raise none, and the words were a
        # quarter of an evaluation at 340 cities
        words.behind_plan(subject, program, progress) if behind else {},
        program=program.id,
        city=city.id,
    )
    if _projected_to_miss(program, progress):
        alerts += _alerts(
            AlertName.FIVE_G_PROJECTED_MISS,
            (Severity.WARNING,),
            words.projected_miss(subject, program, progress),
            program=program.id,
            city=city.id,
        )
    if progress.status is Status.MISSED:
        alerts += _alerts(
            AlertName.FIVE_G_TARGET_MISSED,
            (Severity.CRITICAL,),
            words.target_missed(subject, program, progress),
            program=program.id,
            city=city.id,
        )
    return alerts


_BEFORE_FINAL = frozenset({Status.ON_TRACK, Status.AT_RISK, Status.BEHIND})


def _projected_to_miss(program: SiteProgram, progress: SiteProgress) -> bool:
    """Before final judgement, a city short of its plan-to-date whose trailing rate reaches the
    target only after the deadline.

    Only a city short of its plan: a city at or ahead of it is on a path the plan itself says
    finishes on time, and the trailing 90 days understate a seasonal plan's rate at its low
    season (on the shipped profile, a city exactly on plan at 2024-12-31 projects to 2026-04).
    """
    if progress.status not in _BEFORE_FINAL or progress.projection is None:
        return False
    if progress.attainment is None or progress.attainment >= 1.0:
        return False
    return progress.projection.lands_after(program.deadline)


def _province_alerts(program: SiteProgram, progress: SiteProgress) -> list[Alert]:
    behind = _NESTED_SEVERITIES.get(progress.status, ())
    return _alerts(
        AlertName.FIVE_G_PROVINCE_BEHIND_PLAN,
        behind,
        words.behind_plan(words.PROVINCE, program, progress) if behind else {},
        program=program.id,
    )


def _gigabit_alerts(program: GigabitProgram, city: City, progress: GigabitProgress) -> list[Alert]:
    if progress.status is Status.NO_DATA:
        return []
    # A failing value warns from the day it is judged; at final judgement it is critical too.
    severities = (
        (Severity.WARNING, Severity.CRITICAL) if progress.judged.final else (Severity.WARNING,)
    )
    alerts: list[Alert] = []
    for standing in progress.thresholded:
        if standing.reading is not None and standing.passing is False:
            alerts += _alerts(
                AlertName.GIGABIT_INDICATOR_BELOW_THRESHOLD,
                severities,
                words.indicator_below_threshold(city.name_en, program.id, progress, standing),
                program=program.id,
                city=city.id,
                indicator=standing.indicator.key,
            )
    if progress.status is Status.MISSED:
        alerts += _alerts(
            AlertName.GIGABIT_STANDARD_NOT_MET,
            (Severity.CRITICAL,),
            words.standard_not_met(city.name_en, progress),
            program=program.id,
            city=city.id,
        )
    return alerts


def _overdue_alerts(targets: Targets, city: City, state: CityState, now: datetime) -> list[Alert]:
    """One per city and kind, with no programme: a report feeds every programme of its kind."""
    alerts: list[Alert] = []
    for kind in ReportKind:
        standing = report_standing(targets, state, kind, now)
        if not standing.overdue:
            continue
        severities = (
            (Severity.WARNING, Severity.CRITICAL) if standing.critical else (Severity.WARNING,)
        )
        alerts += _alerts(
            AlertName.REPORT_OVERDUE,
            severities,
            words.report_overdue(city.name_en, standing, targets.reporting.due_day),
            city=city.id,
            kind=str(kind),
        )
    return alerts
