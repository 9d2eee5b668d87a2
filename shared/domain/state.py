"""What Pacer knows about a city at a moment: a read-only snapshot of the stored state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from shared.domain.calendar import Period


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
    last_received: dict[ReportKind, datetime] = field(default_factory=dict)
    reported_periods: dict[ReportKind, frozenset[Period]] = field(default_factory=dict)

    def sites_between(self, first: date, last: date) -> int:
        """In-service sites commissioned on days first..last inclusive."""
        return sum(n for day, n in self.sites_by_day.items() if first <= day <= last)
