"""Plan-to-date, attainment, status and projected completion for a target with a deadline.

Every function takes the judgement day (``shared.domain.judgement``), never "now".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from shared.domain.calendar import Period, end_of_day, start_of_day
from shared.domain.daily_counts import SiteCounts
from shared.domain.targets import Tolerances

TRAILING_RATE_DAYS = 90
PROJECTION_HORIZON_YEARS = 5
"""A projected completion later than the deadline plus this is shown as beyond the horizon."""


class Status(StrEnum):
    NO_DATA = "no_data"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BEHIND = "behind"
    MET = "met"
    MISSED = "missed"


ALL_STATUSES: tuple[Status, ...] = tuple(Status)


def plan_fraction(
    start: date, deadline: date, at: datetime, milestones: dict[Period, float] | None = None
) -> float:
    """Share of the target that should be done at ``at``: 0 at the start, 1 at the deadline's end.

    Linear in time, or piecewise linear through the monthly milestones (each the cumulative share
    due by the end of its month) when there are any.
    """
    given = milestones or {}
    points: list[tuple[datetime, float]] = [(start_of_day(start), 0.0)]
    points += [(end_of_day(period.last_day), given[period]) for period in sorted(given)]
    points.append((end_of_day(deadline), 1.0))
    if at <= points[0][0]:
        return 0.0
    for (t0, f0), (t1, f1) in pairwise(points):
        if at < t1:
            return f0 + (f1 - f0) * ((at - t0) / (t1 - t0))
    return 1.0


def attainment(actual: float, planned: float) -> float:
    """actual / planned; 1.0 while nothing is planned yet (nobody can be behind a zero plan)."""
    if planned <= 0:
        return 1.0
    return actual / planned


def status_for(
    *, reached: bool, final: bool, attainment_ratio: float, tolerances: Tolerances
) -> Status:
    """``reached``: the target is met at the judgement day; ``final``: that day is the deadline."""
    if reached:
        return Status.MET
    if final:
        return Status.MISSED
    return standing_for(attainment_ratio, tolerances)


def standing_for(attainment_ratio: float, tolerances: Tolerances) -> Status:
    """Before final judgement: on track, at risk (under ``warning``) or behind (under
    ``critical``), the tolerances read exactly as the alert rules read them."""
    if attainment_ratio < tolerances.critical:
        return Status.BEHIND
    if attainment_ratio < tolerances.warning:
        return Status.AT_RISK
    return Status.ON_TRACK


class ProjectionKind(StrEnum):
    MET = "met"
    """Nothing remains to build."""
    DATE = "date"
    """Done on ``completion`` at the trailing rate."""
    NEVER = "never"
    """The trailing rate is zero."""
    BEYOND_HORIZON = "beyond_horizon"
    """Done only after the deadline plus ``PROJECTION_HORIZON_YEARS``."""


@dataclass(frozen=True)
class Projection:
    kind: ProjectionKind | None
    """None when there is no window to measure a rate over (judged before the start)."""
    daily_rate: float
    """Sites per day over the trailing window (0.0 without a window)."""
    completion: date | None
    """For DATE; for MET the day the running total reached the target, when within the data."""
    horizon: date
    """The last day a projection is given for."""

    def lands_after(self, deadline: date) -> bool:
        """The trailing rate reaches the target only after ``deadline`` (or never)."""
        if self.kind in (ProjectionKind.NEVER, ProjectionKind.BEYOND_HORIZON):
            return True
        return (
            self.kind is ProjectionKind.DATE
            and self.completion is not None
            and (self.completion > deadline)
        )


def projection_horizon(deadline: date) -> date:
    try:
        return deadline.replace(year=deadline.year + PROJECTION_HORIZON_YEARS)
    except ValueError:  # 29 February
        return deadline.replace(year=deadline.year + PROJECTION_HORIZON_YEARS, day=28)


def project_completion(
    *,
    counts: SiteCounts,
    start: date,
    deadline: date,
    required_new: int,
    judged: date,
) -> Projection:
    """When ``required_new`` new sites (counted from ``start``) are reached at the trailing rate.

    The window ends at the judgement day: W = min(90, days from start to it, inclusive), the rate
    the in-service sites commissioned in its W days ÷ W. The completion day is computed in whole
    numbers (judged + ceil(remaining * W / sites)), so no rate, however small, can overflow a date:
    past the horizon it is ``beyond_horizon``.
    """
    horizon = projection_horizon(deadline)
    window = min(TRAILING_RATE_DAYS, (judged - start).days + 1)
    if window <= 0:
        return Projection(None, 0.0, None, horizon)
    in_window = counts.between(judged - timedelta(days=window - 1), judged)
    rate = in_window / window
    done = counts.between(start, judged)
    remaining = required_new - done
    if remaining <= 0:
        # the day the running total reached the target (none for a target of 0)
        reached = counts.day_reaching(start, required_new) if required_new > 0 else None
        return Projection(ProjectionKind.MET, rate, reached, horizon)
    if in_window <= 0:
        return Projection(ProjectionKind.NEVER, 0.0, None, horizon)
    days = -(-remaining * window // in_window)  # ceil, in integers
    if days > (horizon - judged).days:
        return Projection(ProjectionKind.BEYOND_HORIZON, rate, None, horizon)
    return Projection(ProjectionKind.DATE, rate, judged + timedelta(days=days), horizon)
