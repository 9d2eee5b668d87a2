"""City histories for the judgement tests: monthly reports, on plan or otherwise (pure data)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from shared.domain.calendar import PROVINCE_TZ, Period, end_of_day
from shared.domain.plan import plan_fraction
from shared.domain.state import CityState, IndicatorReading, ReportKind
from shared.domain.targets import City, Targets


def months(first: Period, last: Period) -> list[Period]:
    found, month = [], first
    while month <= last:
        found.append(month)
        month = month.next()
    return found


def plan_at_month_end(targets: Targets, city: City, month: Period) -> int:
    """Sites a city needs by the end of ``month`` to be on every site programme's plan."""
    needed = 0.0
    for program in targets.site_programs:
        fraction = plan_fraction(
            program.start, program.deadline, end_of_day(month.last_day), program.milestones
        )
        needed = max(needed, program.target_new(city) * fraction)
    return math.ceil(needed - 1e-9)


def on_plan_additions(
    targets: Targets, city: City, first: Period, last: Period
) -> dict[Period, int]:
    """New sites per month that keep the city exactly on (the ceiling of) every plan."""
    additions, total = {}, 0
    for month in months(first, last):
        needed = plan_at_month_end(targets, city, month)
        additions[month] = max(0, needed - total)
        total += additions[month]
    return additions


@dataclass
class MonthlyReporter:
    """A city that sends each month's report on ``day`` of the next month, as of the month's end."""

    city: str
    day: int = 8
    sites: dict[Period, dict[date, int]] = field(default_factory=dict)
    indicators: dict[Period, dict[str, float]] = field(default_factory=dict)

    def sent_at(self, month: Period) -> datetime:
        following = month.next()
        return datetime.combine(
            date(following.year, following.month, self.day), time(9), PROVINCE_TZ
        )

    def state_at(self, now: datetime) -> CityState:
        """What Pacer holds at ``now``: every report sent by then."""
        sites_by_day: dict[date, int] = {}
        history: list[tuple[str, IndicatorReading]] = []
        reported: dict[ReportKind, set[Period]] = {
            ReportKind.SITES: set(),
            ReportKind.GIGABIT: set(),
        }
        latest: dict[ReportKind, date] = {}
        received: dict[ReportKind, datetime] = {}
        for kind, by_month in (
            (ReportKind.SITES, self.sites),
            (ReportKind.GIGABIT, self.indicators),
        ):
            for month in sorted(by_month):
                sent = self.sent_at(month)
                if sent > now:
                    continue
                reported[kind].add(month)
                latest[kind] = max(latest.get(kind, month.last_day), month.last_day)
                received[kind] = sent
                if kind is ReportKind.SITES:
                    for day, n in self.sites[month].items():
                        sites_by_day[day] = sites_by_day.get(day, 0) + n
                else:
                    for key, value in self.indicators[month].items():
                        history.append((key, IndicatorReading(value, month.last_day, f"{month}")))
        current: dict[str, IndicatorReading] = {}
        for key, reading in history:
            current[key] = reading
        return CityState(
            city=self.city,
            sites_by_day=sites_by_day,
            indicators=current,
            indicator_history=tuple(history),
            last_received=received,
            reported_periods={k: frozenset(v) for k, v in reported.items() if v},
            latest_as_of=latest,
        )


def spread(month: Period, count: int) -> dict[date, int]:
    """``count`` sites commissioned across the month (the remainder on its last day)."""
    if count <= 0:
        return {}
    days = (month.last_day - month.first_day).days + 1
    each, rest = divmod(count, days)
    found = {month.first_day + timedelta(days=i): each for i in range(days) if each}
    if rest:
        found[month.last_day] = found.get(month.last_day, 0) + rest
    return found
