"""Days, months and due dates in the province's timezone (Asia/Shanghai)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PROVINCE_TZ = ZoneInfo("Asia/Shanghai")
_PERIOD_RE = re.compile(r"([0-9]{4})-([0-9]{2})")


@dataclass(frozen=True, order=True)
class Period:
    """A reporting month."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD_RE.fullmatch(text)
        if not match:
            raise ValueError(f"period must be YYYY-MM, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Period:
        return Period(self.year - (self.month == 1), 12 if self.month == 1 else self.month - 1)

    def contains(self, day: date) -> bool:
        return (day.year, day.month) == (self.year, self.month)


def local_date(instant: datetime) -> date:
    """The calendar day in the province at ``instant`` (which must be timezone-aware)."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    return instant.astimezone(PROVINCE_TZ).date()


def start_of_day(day: date) -> datetime:
    """The first instant of ``day`` in the province."""
    return datetime.combine(day, time.min, tzinfo=PROVINCE_TZ)


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in the province: "by the end of day" means before this."""
    return start_of_day(day + timedelta(days=1))


def due_instant(period: Period, due_day: int) -> datetime:
    """When the report for ``period`` stops being on time: end of ``due_day`` the month after."""
    following = period.next()
    return end_of_day(date(following.year, following.month, due_day))


@functools.lru_cache(maxsize=256)
def latest_due_period(now: datetime, due_day: int) -> Period:
    """The latest month whose report's due instant has passed at ``now``.

    Cached: one evaluation asks it for every city, programme and kind at the same ``now``."""
    this_month = Period.of(local_date(now))
    candidate = this_month.previous()
    if due_instant(candidate, due_day) <= now:
        return candidate
    return candidate.previous()
