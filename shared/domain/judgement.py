"""The day a city is judged on (contract §1.1): never "now", but the day its figures cover.

A month's figures arrive by the due day of the next month, so judging at "now" compares a plan
that ran on to today with figures that stop at the last report, up to 41 days earlier: every city
on plan looked behind. Instead:

- F (the floor) is the last day of the latest required month whose report is past due (the day
  before the first required month while none is). A city that stops reporting is judged at F.
- A is the latest ``as_of`` among the city's applied reports of the kind feeding the programme.
- D = max(F, A), held at the programme's deadline once past it. The province's A is the smallest
  among the cities that have reported, so it is judged on a day every reporting city covers.
- Final judgement (met/missed at the deadline) happens only once D reaches the deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.domain.calendar import Period, latest_due_period
from shared.domain.targets import ReportingWindow


@dataclass(frozen=True)
class JudgementDay:
    day: date
    """D: plan, actual and every alert are computed at the end of this day."""
    final: bool
    """D has reached the deadline: met or missed is decided."""


def latest_required_due(window: ReportingWindow, now: datetime, due_day: int) -> Period | None:
    """The latest month the kind is required for whose report is past due at ``now``; None while
    no required month is past due."""
    latest = min(latest_due_period(now, due_day), window.last)
    return latest if latest >= window.first else None


def floor_day(window: ReportingWindow, now: datetime, due_day: int) -> date:
    """F: the last day of the latest required month past due, else the day before the first."""
    latest = latest_required_due(window, now, due_day)
    if latest is None:
        return window.first.first_day - timedelta(days=1)
    return latest.last_day


def judgement_day(floor: date, latest_as_of: date | None, deadline: date) -> JudgementDay:
    """D for one city and programme: max(F, A), held at the deadline."""
    day = floor if latest_as_of is None else max(floor, latest_as_of)
    day = min(day, deadline)
    return JudgementDay(day, final=day >= deadline)


def province_judgement_day(
    floor: date, latest_as_ofs: Iterable[date | None], deadline: date
) -> JudgementDay:
    """D for the province: max(F, the smallest A among the cities that have reported)."""
    reported = [day for day in latest_as_ofs if day is not None]
    return judgement_day(floor, min(reported) if reported else None, deadline)
