"""Plan-to-date, attainment, status and projected completion for a target with a deadline."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from shared.domain.calendar import Period, end_of_day, local_date, start_of_day
from shared.domain.targets import Tolerances

TRAILING_RATE_DAYS = 90


class Status(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BEHIND = "behind"
    MET = "met"
    MISSED = "missed"


ALL_STATUSES: tuple[Status, ...] = tuple(Status)


def plan_fraction(
    start: date, deadline: date, now: datetime, milestones: dict[Period, float] | None = None
) -> float:
    """Share of the target that should be done at ``now``: 0 at the start, 1 at the deadline's end.

    Linear in time, or piecewise linear through the monthly milestones (each the cumulative share
    due by the end of its month) when there are any.
    """
    given = milestones or {}
    points: list[tuple[datetime, float]] = [(start_of_day(start), 0.0)]
    points += [(end_of_day(period.last_day), given[period]) for period in sorted(given)]
    points.append((end_of_day(deadline), 1.0))
    if now <= points[0][0]:
        return 0.0
    for (t0, f0), (t1, f1) in pairwise(points):
        if now < t1:
            return f0 + (f1 - f0) * ((now - t0) / (t1 - t0))
    return 1.0


def attainment(actual: float, planned: float) -> float:
    """actual / planned; 1.0 while nothing is planned yet (nobody can be behind a zero plan)."""
    if planned <= 0:
        return 1.0
    return actual / planned


def deadline_passed(deadline: date, now: datetime) -> bool:
    return now >= end_of_day(deadline)


def status_for(
    *,
    actual: float,
    target: float,
    attainment_ratio: float,
    deadline: date,
    now: datetime,
    tolerances: Tolerances,
) -> Status:
    if actual >= target:
        return Status.MET
    if deadline_passed(deadline, now):
        return Status.MISSED
    if attainment_ratio < tolerances.critical:
        return Status.BEHIND
    if attainment_ratio < tolerances.warning:
        return Status.AT_RISK
    return Status.ON_TRACK


@dataclass(frozen=True)
class Projection:
    daily_rate: float
    """Sites per day over the trailing window."""
    completion: date | None
    """The day the target is (or was) reached at that rate; None if it never is."""


def trailing_rate(
    sites_by_day: dict[date, int], today: date, days: int = TRAILING_RATE_DAYS
) -> float:
    """Average in-service sites commissioned per day over the ``days`` days ending ``today``."""
    first = today - timedelta(days=days - 1)
    return sum(n for day, n in sites_by_day.items() if first <= day <= today) / days


def project_completion(
    *, sites_by_day: dict[date, int], start: date, target_new: int, now: datetime
) -> Projection:
    """When the city reaches ``target_new`` new sites (counted from ``start``) at its trailing rate.

    Already reached: the day the running total first reached the target.
    """
    today = local_date(now)
    rate = trailing_rate(sites_by_day, today)
    if target_new <= 0:
        return Projection(rate, start)
    running = 0
    for day in sorted(d for d in sites_by_day if start <= d <= today):
        running += sites_by_day[day]
        if running >= target_new:
            return Projection(rate, day)
    if rate <= 0:
        return Projection(rate, None)
    return Projection(rate, today + timedelta(days=math.ceil((target_new - running) / rate)))
