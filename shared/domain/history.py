"""Every month's standing, restated with what Pacer knows now (contract §6).

A history row is the judgement of §1.1 made at the end of a month, on today's state: sites
reported late count in the month they were commissioned, a decommissioned site no longer counts in
any month, and a gigabit indicator's value is the one in force at that month's end (the latest
``as_of`` on or before it, ties to the later submission). The figures come from the same functions
as the live progress (``shared.domain.progress``), so the row of D's month is the live judgement.

- Months run from the programme's start month to the month of D (the live judgement day). Each is
  judged at its last day, except the month of D, judged at D itself: the same day as
  ``/v1/progress``, never a day whose figures are not in yet.
- ``no_data`` for the months before the city's first reported month of the feeding kind (the
  month of D follows the live rule: any report).
- Each month's report of the feeding kind: ``on_time`` (first applied receipt before its due
  instant, the end of the due day of the next month), ``late``, ``missing`` (past due, none),
  ``not_due`` (none yet, not due yet: a month after F that a later month's early report brought
  into the history), or ``unrecorded`` (reported, but applied before Pacer recorded receipts).
- The province: site programmes on the cities' summed sites, judged on the province's D; the
  gigabit programme counts the cities meeting the standard at each month end (it is met when every
  city meets it), judged with the programme's tolerances before the deadline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from shared.domain.calendar import Period, due_instant
from shared.domain.daily_counts import DailyCounts
from shared.domain.judgement import JudgementDay
from shared.domain.plan import Status, standing_for
from shared.domain.progress import (
    GigabitProgress,
    SiteProgress,
    city_gigabit_progress_on,
    city_judgement_day,
    city_site_progress_on,
    province_judgement,
    province_site_progress_on,
    province_sites_by_day,
)
from shared.domain.state import CityState, ReportKind
from shared.domain.targets import City, GigabitProgram, SiteProgram, Targets

Program = SiteProgram | GigabitProgram


class Timeliness(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"
    NOT_DUE = "not_due"
    UNRECORDED = "unrecorded"


@dataclass(frozen=True)
class MonthReport:
    """A city's report of one kind for one month, as Pacer knows it now."""

    timeliness: Timeliness
    received_at: datetime | None
    """The first receipt of an applied report for the month (None: not reported, or unrecorded)."""
    due: datetime
    """The instant it stops being on time: the end of the due day of the next month."""


def month_report(
    state: CityState, kind: ReportKind, month: Period, due_day: int, now: datetime
) -> MonthReport:
    return report_due_by(state, kind, month, due_instant(month, due_day), now)


def report_due_by(
    state: CityState, kind: ReportKind, month: Period, due: datetime, now: datetime
) -> MonthReport:
    """``month_report`` with the due instant worked out once for many cities."""
    received = state.period_received.get(kind, {}).get(month)
    if received is not None:
        return MonthReport(Timeliness.ON_TIME if received < due else Timeliness.LATE, received, due)
    if month in state.reported_periods.get(kind, frozenset()):
        return MonthReport(Timeliness.UNRECORDED, None, due)
    return MonthReport(Timeliness.MISSING if now >= due else Timeliness.NOT_DUE, None, due)


def timeliness_counts(reports: Iterable[MonthReport]) -> dict[Timeliness, int]:
    """How many of ``reports`` are of each timeliness (every value present, 0 when none)."""
    counted = Counter(r.timeliness for r in reports)
    return {t: counted.get(t, 0) for t in Timeliness}


@dataclass(frozen=True)
class Span:
    """The months a history covers and the day each is judged on."""

    start: Period
    live: JudgementDay
    """D at ``now``: the last month is its month, judged on it."""
    deadline: date

    @property
    def last(self) -> Period:
        return Period.of(self.live.day)

    def months(self) -> list[Period]:
        found: list[Period] = []
        month = self.start
        while month <= self.last:
            found.append(month)
            month = month.next()
        return found

    def covers(self, month: Period) -> bool:
        return self.start <= month <= self.last

    def judged(self, month: Period) -> JudgementDay:
        """The month's last day, or D for the month of D."""
        if month == self.last:
            return self.live
        return JudgementDay(month.last_day, final=month.last_day >= self.deadline)


def first_reported(state: CityState, kind: ReportKind) -> Period | None:
    reported = state.reported_periods.get(kind)
    return min(reported) if reported else None


def _has_data(first: Period | None, month: Period, span: Span) -> bool:
    """Data by ``month``: a report for it or an earlier month; in the month of D, any report
    (the live rule, which a report for a month past a held deadline also satisfies)."""
    return first is not None and (first <= month or month == span.last)


# --- a city --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteMonth:
    month: Period
    progress: SiteProgress
    report: MonthReport


@dataclass(frozen=True)
class GigabitMonth:
    month: Period
    progress: GigabitProgress
    report: MonthReport


CityMonth = SiteMonth | GigabitMonth


def city_span(targets: Targets, program: Program, state: CityState, now: datetime) -> Span:
    live = city_judgement_day(targets, program, state, now)
    return Span(Period.of(program.start), live, program.deadline)


def city_month(
    targets: Targets,
    program: Program,
    city: City,
    state: CityState,
    now: datetime,
    month: Period,
    span: Span | None = None,
) -> CityMonth | None:
    """The city's row for ``month``; None when its history does not reach that month (before
    the programme's start, or after the month of the city's D)."""
    span = span or city_span(targets, program, state, now)
    if not span.covers(month):
        return None
    kind = program.feeds_on
    judged = span.judged(month)
    has_data = _has_data(first_reported(state, kind), month, span)
    report = month_report(state, kind, month, targets.reporting.due_day, now)
    if isinstance(program, SiteProgram):
        progress = city_site_progress_on(
            targets, program, city, state, judged=judged, has_data=has_data
        )
        return SiteMonth(month, progress, report)
    gigabit = city_gigabit_progress_on(program, state, judged=judged, has_data=has_data)
    return GigabitMonth(month, gigabit, report)


def city_history(
    targets: Targets, program: Program, city: City, state: CityState, now: datetime
) -> list[CityMonth]:
    """One row per month from the programme's start to the month of the city's D."""
    span = city_span(targets, program, state, now)
    rows = (city_month(targets, program, city, state, now, m, span) for m in span.months())
    return [row for row in rows if row is not None]


# --- the province --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvinceGigabitStanding:
    """The province on a gigabit programme: met when every city meets the standard."""

    program: str
    judged: JudgementDay
    cities: int
    cities_reporting: int
    """Cities with data on the day (a report of the kind for that month or an earlier one)."""
    cities_meeting_standard: int
    status: Status

    @property
    def judged_as_of(self) -> date:
        return self.judged.day

    @property
    def attainment(self) -> float | None:
        """Share of the cities meeting the standard; None while no city has data."""
        if self.status is Status.NO_DATA:
            return None
        return self.cities_meeting_standard / self.cities if self.cities else 1.0


@dataclass(frozen=True)
class ProvinceMonth:
    month: Period
    progress: SiteProgress | ProvinceGigabitStanding
    reports: Mapping[Timeliness, int]
    """How many cities' reports of the feeding kind for the month are of each timeliness."""


@dataclass(frozen=True)
class ProvinceHistory:
    """What every month of the province needs, worked out once from its cities' states."""

    targets: Targets
    program: Program
    states: tuple[CityState, ...]
    span: Span
    now: datetime
    counts: DailyCounts
    firsts: tuple[Period | None, ...]

    @classmethod
    def of(
        cls, targets: Targets, program: Program, states: Mapping[str, CityState], now: datetime
    ) -> ProvinceHistory:
        known = tuple(states.get(c, CityState(c)) for c in targets.cities)
        live = province_judgement(targets, program, known, now)
        merged = DailyCounts(
            province_sites_by_day(known) if isinstance(program, SiteProgram) else {}
        )
        firsts = tuple(first_reported(s, program.feeds_on) for s in known)
        span = Span(Period.of(program.start), live, program.deadline)
        return cls(targets, program, known, span, now, merged, firsts)

    def rows(self) -> list[ProvinceMonth]:
        return [self.month(m) for m in self.span.months()]

    def month(self, month: Period) -> ProvinceMonth:
        """The province's row for a month the span covers."""
        judged = self.span.judged(month)
        kind = self.program.feeds_on
        due = due_instant(month, self.targets.reporting.due_day)
        reports = timeliness_counts(
            report_due_by(s, kind, month, due, self.now) for s in self.states
        )
        has_data = [_has_data(first, month, self.span) for first in self.firsts]
        if isinstance(self.program, SiteProgram):
            progress = province_site_progress_on(
                self.targets, self.program, self.counts, judged=judged, has_data=any(has_data)
            )
            return ProvinceMonth(month, progress, reports)
        meeting = sum(
            1
            for state, data in zip(self.states, has_data, strict=True)
            if city_gigabit_progress_on(
                self.program, state, judged=judged, has_data=data
            ).standard_met
        )
        standing = province_gigabit_standing(
            self.program, judged, len(self.states), sum(has_data), meeting
        )
        return ProvinceMonth(month, standing, reports)


def province_gigabit_standing(
    program: GigabitProgram, judged: JudgementDay, cities: int, reporting: int, meeting: int
) -> ProvinceGigabitStanding:
    if not reporting:
        status = Status.NO_DATA
    elif judged.final:
        status = Status.MET if meeting == cities else Status.MISSED
    else:
        status = standing_for(meeting / cities if cities else 1.0, program.tolerances)
    return ProvinceGigabitStanding(program.id, judged, cities, reporting, meeting, status)


def province_history(
    targets: Targets, program: Program, states: Mapping[str, CityState], now: datetime
) -> list[ProvinceMonth]:
    """One row per month from the programme's start to the month of the province's D."""
    return ProvinceHistory.of(targets, program, states, now).rows()


# --- one month across the province (the export) --------------------------------------------------


@dataclass(frozen=True)
class CityMonthLine:
    city: City
    row: CityMonth | None
    """None when the city's history does not reach the month yet (its D is earlier)."""
    report: MonthReport


@dataclass(frozen=True)
class ProgramMonth:
    program: Program
    cities: tuple[CityMonthLine, ...]
    province: ProvinceMonth | None
    """None when the province's history does not reach the month yet."""


def open_in(program: Program, month: Period) -> bool:
    return Period.of(program.start) <= month <= Period.of(program.deadline)


def month_standings(
    targets: Targets, states: Mapping[str, CityState], now: datetime, month: Period
) -> list[ProgramMonth]:
    """Every city and the province on every programme open in ``month``, as their histories
    have that month (the same rows)."""
    found = []
    due_day = targets.reporting.due_day
    for program in targets.programs:
        if not open_in(program, month):
            continue
        lines = []
        for city in targets.cities.values():
            state = states.get(city.id, CityState(city.id))
            row = city_month(targets, program, city, state, now, month)
            report = (
                row.report if row else month_report(state, program.feeds_on, month, due_day, now)
            )
            lines.append(CityMonthLine(city, row, report))
        province = ProvinceHistory.of(targets, program, states, now)
        found.append(
            ProgramMonth(
                program,
                tuple(lines),
                province.month(month) if province.span.covers(month) else None,
            )
        )
    return found
