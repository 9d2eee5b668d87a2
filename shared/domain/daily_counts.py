"""In-service sites by commissioning day, summed once so that every figure is a binary search.

A judgement asks the same sites several questions (new since the start, in the trailing window,
the day a total was reached) for every programme, and the history asks them again for every
month: summing the days each time cost the exporter 0.9 s a scrape at 340 cities with two years
of daily sites. Running totals answer each in O(log days).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from itertools import accumulate
from typing import Protocol


class DailyCounts:
    __slots__ = ("_days", "_totals")

    def __init__(self, by_day: Mapping[date, int]) -> None:
        self._days = sorted(by_day)
        self._totals = list(accumulate(by_day[day] for day in self._days))

    def through(self, day: date) -> int:
        """Sites commissioned on or before ``day``."""
        index = bisect_right(self._days, day)
        return self._totals[index - 1] if index else 0

    def between(self, first: date, last: date) -> int:
        """Sites commissioned on days ``first`` to ``last`` inclusive."""
        if last < first:
            return 0
        return self.through(last) - self.through(first - timedelta(days=1))

    @property
    def span(self) -> tuple[date, date] | None:
        """The first and the last day with sites (None: no sites)."""
        return (self._days[0], self._days[-1]) if self._days else None

    def day_reaching(self, start: date, total: int) -> date | None:
        """The first day on which the sites counted from ``start`` reach ``total`` (None if they
        never do in the data). Counts are positive, so the running totals only grow."""
        wanted = self.through(start - timedelta(days=1)) + total
        index = bisect_left(self._totals, wanted)
        return self._days[index] if index < len(self._days) else None


class SiteCounts(Protocol):
    """What a judgement asks of in-service sites by day (``DailyCounts``, ``SummedCounts``)."""

    def through(self, day: date) -> int: ...

    def between(self, first: date, last: date) -> int: ...

    def day_reaching(self, start: date, total: int) -> date | None: ...


class SummedCounts:
    """Several cities' ``DailyCounts`` read as one (the province): each question is answered by
    every city's binary search, summed. Merging 340 cities' days into one series cost ~25 ms per
    merge, then ~60 ms once ``day_reaching`` was asked every evaluation (a met target); the
    cities' running totals are built once per city state anyway. ``day_reaching`` is a binary
    search over the days, each step a summed ``through``: the sum only grows, and only on a day
    some city commissioned a site, so the first day it reaches a total is such a day.
    """

    __slots__ = ("_parts",)

    def __init__(self, parts: Sequence[DailyCounts]) -> None:
        self._parts = parts

    def through(self, day: date) -> int:
        return sum(part.through(day) for part in self._parts)

    def between(self, first: date, last: date) -> int:
        if last < first:
            return 0
        return self.through(last) - self.through(first - timedelta(days=1))

    def day_reaching(self, start: date, total: int) -> date | None:
        spans = [part.span for part in self._parts if part.span is not None]
        if not spans:
            return None
        wanted = self.through(start - timedelta(days=1)) + total
        low = min(first for first, _ in spans).toordinal()
        high = max(last for _, last in spans).toordinal()
        if self.through(date.fromordinal(high)) < wanted:
            return None
        while low < high:  # the first day whose running sum reaches ``wanted``
            middle = (low + high) // 2
            if self.through(date.fromordinal(middle)) >= wanted:
                high = middle
            else:
                low = middle + 1
        return date.fromordinal(low)
