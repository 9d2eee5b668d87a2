"""Alert rules: which alerts are active for given targets, state and ``now`` (contract §4).

Pure functions; the alerting service evaluates them after every applied report and on a timer,
and ``shared.domain.alert_lifecycle`` turns successive evaluations into notifications.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.domain import alert_annotations as words
from shared.domain.calendar import start_of_day
from shared.domain.plan import Status, deadline_passed
from shared.domain.progress import (
    GigabitProgress,
    SiteProgress,
    city_gigabit_progress,
    city_site_progress,
    province_site_progress,
    report_standing,
)
from shared.domain.state import CityState, ReportKind
from shared.domain.targets import City, GigabitProgram, SiteProgram, Targets


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class AlertName(StrEnum):
    FIVE_G_BEHIND_PLAN = "FiveGBehindPlan"
    FIVE_G_PROJECTED_MISS = "FiveGProjectedMiss"
    FIVE_G_TARGET_MISSED = "FiveGTargetMissed"
    FIVE_G_PROVINCE_BEHIND_PLAN = "FiveGProvinceBehindPlan"
    GIGABIT_INDICATOR_BELOW_THRESHOLD = "GigabitIndicatorBelowThreshold"
    GIGABIT_STANDARD_NOT_MET = "GigabitStandardNotMet"
    REPORT_OVERDUE = "ReportOverdue"


@dataclass(frozen=True)
class Alert:
    """One active alert. Its identity (fingerprint) is its label set; annotations carry numbers."""

    labels: dict[str, str]
    """alertname, severity, program, and where it applies city, indicator, kind."""
    annotations: dict[str, str] = field(default_factory=dict)
    """summary and description, with the numbers (actual, expected, shortfall, projection)."""

    @property
    def fingerprint(self) -> str:
        canonical = "\x1f".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def name(self) -> str:
        return self.labels["alertname"]

    @property
    def severity(self) -> str:
        return self.labels["severity"]


def evaluate_alerts(targets: Targets, states: dict[str, CityState], now: datetime) -> list[Alert]:
    """Every alert that is active at ``now``, sorted by fingerprint.

    Every city of ``targets`` is judged, a city without state as one that reported nothing;
    states of cities outside ``targets`` are ignored. A programme raises nothing before its start.
    """
    known = {cid: states.get(cid, CityState(city=cid)) for cid in targets.cities}
    cities = [(city, known[city.id]) for city in targets.cities.values()]
    found: list[Alert] = []
    for site_program in targets.site_programs:
        if now < start_of_day(site_program.start):
            continue
        for city, state in cities:
            progress = city_site_progress(site_program, city, state, now)
            found += _city_site_alerts(site_program, city, progress)
        province = province_site_progress(site_program, targets, known, now)
        found += _province_alerts(site_program, province)
    for gigabit_program in targets.gigabit_programs:
        if now < start_of_day(gigabit_program.start):
            continue
        for city, state in cities:
            gigabit = city_gigabit_progress(gigabit_program, state, now)
            found += _gigabit_alerts(gigabit_program, city, gigabit, now)
    for city, state in cities:
        found += _overdue_alerts(targets, city, state, now)
    return sorted(found, key=lambda alert: alert.fingerprint)


# The progress status applies the tolerances exactly as the rules read: attainment under
# ``warning`` is at risk, under ``critical`` behind; met and missed are never behind plan.
_BEHIND_PLAN_SEVERITY = {Status.AT_RISK: Severity.WARNING, Status.BEHIND: Severity.CRITICAL}
_BEFORE_DEADLINE_NOT_MET = frozenset({Status.ON_TRACK, Status.AT_RISK, Status.BEHIND})


def _alert(
    name: AlertName, severity: Severity, program: str, annotations: dict[str, str], **scope: str
) -> Alert:
    labels = {"alertname": str(name), "severity": str(severity), "program": program} | scope
    return Alert(labels=labels, annotations=annotations)


def _city_site_alerts(program: SiteProgram, city: City, progress: SiteProgress) -> list[Alert]:
    alerts: list[Alert] = []
    subject = city.name_en
    severity = _BEHIND_PLAN_SEVERITY.get(progress.status)
    if severity is not None:
        text = words.behind_plan(subject, program, progress)
        alerts.append(
            _alert(AlertName.FIVE_G_BEHIND_PLAN, severity, program.id, text, city=city.id)
        )
    completion = progress.projected_completion
    if progress.status in _BEFORE_DEADLINE_NOT_MET and (
        completion is None or completion > program.deadline
    ):
        text = words.projected_miss(subject, program, progress)
        alerts.append(
            _alert(
                AlertName.FIVE_G_PROJECTED_MISS, Severity.WARNING, program.id, text, city=city.id
            )
        )
    if progress.status is Status.MISSED:
        text = words.target_missed(subject, program, progress)
        alerts.append(
            _alert(
                AlertName.FIVE_G_TARGET_MISSED, Severity.CRITICAL, program.id, text, city=city.id
            )
        )
    return alerts


def _province_alerts(program: SiteProgram, progress: SiteProgress) -> list[Alert]:
    severity = _BEHIND_PLAN_SEVERITY.get(progress.status)
    if severity is None:
        return []
    text = words.behind_plan(words.PROVINCE, program, progress)
    return [_alert(AlertName.FIVE_G_PROVINCE_BEHIND_PLAN, severity, program.id, text)]


def _gigabit_alerts(
    program: GigabitProgram, city: City, progress: GigabitProgress, now: datetime
) -> list[Alert]:
    late = deadline_passed(program.deadline, now)
    severity = Severity.CRITICAL if late else Severity.WARNING
    alerts = [
        _alert(
            AlertName.GIGABIT_INDICATOR_BELOW_THRESHOLD,
            severity,
            program.id,
            words.indicator_below_threshold(city.name_en, program.id, program.deadline, standing),
            city=city.id,
            indicator=standing.indicator.key,
        )
        for standing in progress.thresholded
        if standing.reading is not None and standing.passing is False
    ]
    if late and not progress.standard_met:
        text = words.standard_not_met(city.name_en, progress)
        alerts.append(
            _alert(
                AlertName.GIGABIT_STANDARD_NOT_MET,
                Severity.CRITICAL,
                program.id,
                text,
                city=city.id,
            )
        )
    return alerts


def _overdue_alerts(targets: Targets, city: City, state: CityState, now: datetime) -> list[Alert]:
    alerts: list[Alert] = []
    for kind in ReportKind:
        program = _report_program(targets, kind, now)
        standing = report_standing(targets, state, kind, now)
        if program is None or not standing.overdue:
            continue
        text = words.report_overdue(city.name_en, standing, targets.reporting.due_day)
        alerts.append(
            _alert(
                AlertName.REPORT_OVERDUE,
                Severity.WARNING,
                program,
                text,
                city=city.id,
                kind=str(kind),
            )
        )
    return alerts


def _report_program(targets: Targets, kind: ReportKind, now: datetime) -> str | None:
    """The programme a report kind feeds: for sites, the first still running, else the last."""
    if kind is ReportKind.GIGABIT:
        return targets.gigabit_programs[0].id if targets.gigabit_programs else None
    if not targets.site_programs:
        return None
    running = (p.id for p in targets.site_programs if not deadline_passed(p.deadline, now))
    return next(running, targets.site_programs[-1].id)
