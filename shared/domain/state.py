"""What Pacer knows about a city at a moment: a read-only snapshot of the stored state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property

from shared.domain.calendar import Period
from shared.domain.daily_counts import DailyCounts


class ReportKind(StrEnum):
    GIGABIT = "gigabit"
    SITES = "5g-sites"


@dataclass(frozen=True)
class IndicatorReading:
    value: float
    as_of: date
    report_id: str


@dataclass(frozen=True)
class CityState:
    city: str
    sites_by_day: dict[date, int] = field(default_factory=dict)
    """In-service sites Pacer holds for the city, by commissioning day."""
    indicators: dict[str, IndicatorReading] = field(default_factory=dict)
    indicator_history: tuple[tuple[str, IndicatorReading], ...] = ()
    """Every applied indicator value, (key, reading), in the order the reports were applied."""
    last_received: dict[ReportKind, datetime] = field(default_factory=dict)
    reported_periods: dict[ReportKind, frozenset[Period]] = field(default_factory=dict)
    """Months with an applied report of the kind (a rejected report does not count)."""
    latest_as_of: dict[ReportKind, date] = field(default_factory=dict)
    """The latest ``as_of`` among the applied reports of each kind (``A`` of contract §1.1)."""
    period_received: dict[ReportKind, dict[Period, datetime]] = field(default_factory=dict)
    """When each reported month's first applied report was received."""

    @cached_property
    def site_counts(self) -> DailyCounts:
        """``sites_by_day`` summed once, for the many questions a judgement asks of it."""
        return DailyCounts(self.sites_by_day)

    def sites_between(self, first: date, last: date) -> int:
        """In-service sites commissioned on days first..last inclusive."""
        return self.site_counts.between(first, last)
