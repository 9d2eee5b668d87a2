"""Where each city and the province stand on each programme at ``now``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shared.domain.calendar import Period, latest_due_period, local_date
from shared.domain.plan import (
    Status,
    attainment,
    deadline_passed,
    plan_fraction,
    project_completion,
    status_for,
)
from shared.domain.state import CityState, IndicatorReading, ReportKind
from shared.domain.targets import (
    City,
    GigabitProgram,
    Indicator,
    ProgramKind,
    SiteProgram,
    Targets,
)


@dataclass(frozen=True)
class SiteProgress:
    """A city's (or the province's) standing on a site programme, in sites."""

    program: str
    kind: ProgramKind
    deadline: date
    baseline_sites: int
    population: int
    new_sites: int
    target_new: int
    planned_new: float
    attainment: float
    status: Status
    daily_rate: float
    projected_completion: date | None

    @property
    def in_service(self) -> int:
        return self.baseline_sites + self.new_sites

    @property
    def density_per_10k(self) -> float:
        return self.in_service / self.population * 10_000

    @property
    def target_density_per_10k(self) -> float:
        return (self.baseline_sites + self.target_new) / self.population * 10_000

    @property
    def planned_density_per_10k(self) -> float:
        return (self.baseline_sites + self.planned_new) / self.population * 10_000


def _site_progress(
    program: SiteProgram,
    *,
    baseline: int,
    population: int,
    target_new: int,
    sites_by_day: dict[date, int],
    now: datetime,
) -> SiteProgress:
    last_counted = min(local_date(now), program.deadline)
    new_sites = sum(n for d, n in sites_by_day.items() if program.start <= d <= last_counted)
    planned_new = target_new * plan_fraction(
        program.start, program.deadline, now, program.milestones
    )
    if program.kind is ProgramKind.SITE_DENSITY:
        # The density target is judged on the level (baseline + new), as the contract says.
        ratio = attainment(baseline + new_sites, baseline + planned_new)
    else:
        ratio = attainment(new_sites, planned_new)
    projection = project_completion(
        sites_by_day=sites_by_day, start=program.start, target_new=target_new, now=now
    )
    return SiteProgress(
        program=program.id,
        kind=program.kind,
        deadline=program.deadline,
        baseline_sites=baseline,
        population=population,
        new_sites=new_sites,
        target_new=target_new,
        planned_new=planned_new,
        attainment=ratio,
        status=status_for(
            actual=new_sites,
            target=target_new,
            attainment_ratio=ratio,
            deadline=program.deadline,
            now=now,
            tolerances=program.tolerances,
        ),
        daily_rate=projection.daily_rate,
        projected_completion=projection.completion,
    )


def city_site_progress(
    program: SiteProgram, city: City, state: CityState, now: datetime
) -> SiteProgress:
    return _site_progress(
        program,
        baseline=city.baseline_sites,
        population=city.population,
        target_new=program.target_new(city),
        sites_by_day=state.sites_by_day,
        now=now,
    )


def province_site_progress(
    program: SiteProgram, targets: Targets, states: dict[str, CityState], now: datetime
) -> SiteProgress:
    """The province as one unit: summed sites against the summed city targets."""
    merged: dict[date, int] = {}
    for state in states.values():
        for day, n in state.sites_by_day.items():
            merged[day] = merged.get(day, 0) + n
    return _site_progress(
        program,
        baseline=targets.baseline_sites,
        population=targets.population,
        target_new=sum(program.target_new(c) for c in targets.cities.values()),
        sites_by_day=merged,
        now=now,
    )


@dataclass(frozen=True)
class IndicatorStanding:
    indicator: Indicator
    reading: IndicatorReading | None

    @property
    def passing(self) -> bool | None:
        """True/False against the threshold; None when tracked only or not reported yet."""
        if self.reading is None:
            return None if self.indicator.threshold is None else False
        return self.indicator.passes(self.reading.value)


@dataclass(frozen=True)
class GigabitProgress:
    program: str
    deadline: date
    indicators: tuple[IndicatorStanding, ...]
    status: Status

    @property
    def thresholded(self) -> tuple[IndicatorStanding, ...]:
        return tuple(s for s in self.indicators if s.indicator.threshold is not None)

    @property
    def standard_met(self) -> bool:
        """Every indicator with a threshold passes on its latest value (a missing value fails)."""
        return all(s.passing for s in self.thresholded)

    @property
    def passing_count(self) -> int:
        return sum(1 for s in self.thresholded if s.passing)

    @property
    def attainment(self) -> float:
        """Share of thresholded indicators that pass."""
        total = len(self.thresholded)
        return self.passing_count / total if total else 1.0


def city_gigabit_progress(
    program: GigabitProgram, state: CityState, now: datetime
) -> GigabitProgress:
    standings = tuple(IndicatorStanding(i, state.indicators.get(i.key)) for i in program.indicators)
    thresholded = [s for s in standings if s.indicator.threshold is not None]
    if all(s.passing for s in thresholded):
        status = Status.MET
    elif deadline_passed(program.deadline, now):
        status = Status.MISSED
    elif any(s.reading is not None and s.passing is False for s in thresholded):
        status = Status.BEHIND
    else:
        status = Status.AT_RISK  # nothing fails, but some values are still missing
    return GigabitProgress(program.id, program.deadline, standings, status)


@dataclass(frozen=True)
class ReportStanding:
    kind: ReportKind
    last_received: datetime | None
    latest_due: Period | None
    """The latest month whose report is past due (None before the first one is due)."""
    overdue: bool


def report_standing(
    targets: Targets, state: CityState, kind: ReportKind, now: datetime
) -> ReportStanding:
    """Overdue: no report of ``kind`` for the latest month whose due date has passed."""
    latest = latest_due_period(now, targets.reporting.due_day)
    if latest < targets.reporting.start:
        return ReportStanding(kind, state.last_received.get(kind), None, False)
    reported = state.reported_periods.get(kind, frozenset())
    return ReportStanding(kind, state.last_received.get(kind), latest, latest not in reported)


@dataclass(frozen=True)
class CityProgress:
    city: City
    sites: tuple[SiteProgress, ...]
    gigabit: tuple[GigabitProgress, ...]
    reports: tuple[ReportStanding, ...]


def city_progress(targets: Targets, city: City, state: CityState, now: datetime) -> CityProgress:
    return CityProgress(
        city=city,
        sites=tuple(city_site_progress(p, city, state, now) for p in targets.site_programs),
        gigabit=tuple(city_gigabit_progress(p, state, now) for p in targets.gigabit_programs),
        reports=tuple(report_standing(targets, state, k, now) for k in ReportKind),
    )


def in_service_sites(targets: Targets, city: City, state: CityState, now: datetime) -> int:
    """Baseline plus every in-service site commissioned since the baseline date, up to today."""
    return city.baseline_sites + state.sites_between(targets.site_baseline_date, local_date(now))
