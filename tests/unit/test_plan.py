"""Plan-to-date, attainment, status and projections (shared/domain/plan.py)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shared.domain.calendar import Period
from shared.domain.plan import (
    TRAILING_RATE_DAYS,
    Status,
    attainment,
    deadline_passed,
    plan_fraction,
    project_completion,
    status_for,
    trailing_rate,
)
from shared.domain.targets import Tolerances

CST = timezone(timedelta(hours=8))
START = date(2024, 1, 1)
DEADLINE = date(2025, 12, 31)
DEFAULT_TOLERANCES = Tolerances(warning=0.90, critical=0.75)


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def one_per_day(first: date, last: date) -> dict[date, int]:
    return {first + timedelta(days=i): 1 for i in range((last - first).days + 1)}


# --- plan_fraction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "fraction"),
    [
        (cst("2023-06-01T00:00:00"), 0.0),
        (cst("2023-12-31T23:59:59"), 0.0),
        (cst("2024-01-01T00:00:00"), 0.0),
        (utc("2023-12-31T16:00:00"), 0.0),
        # 2024-01-01 to the end of 2025-12-31 is 731 days: 182.75 days is a quarter, 365.5 a half
        (cst("2024-07-01T18:00:00"), 0.25),
        (cst("2024-12-31T12:00:00"), 0.5),
        (utc("2024-12-31T04:00:00"), 0.5),
        (cst("2026-01-01T00:00:00"), 1.0),
        (utc("2025-12-31T16:00:00"), 1.0),
        (cst("2027-06-01T00:00:00"), 1.0),
    ],
)
def test_plan_fraction_is_linear_from_start_to_the_end_of_the_deadline_day(
    now: datetime, fraction: float
) -> None:
    assert plan_fraction(START, DEADLINE, now) == fraction


def test_plan_fraction_is_still_short_of_one_a_second_before_the_deadline_ends() -> None:
    fraction = plan_fraction(START, DEADLINE, cst("2025-12-31T23:59:59"))
    assert 1 - 1e-6 < fraction < 1.0


def test_plan_fraction_grows_monotonically() -> None:
    instants = [cst("2024-01-01T00:00:00") + timedelta(days=d) for d in range(0, 760, 7)]
    fractions = [plan_fraction(START, DEADLINE, now) for now in instants]
    assert fractions == sorted(fractions)


# Milestone 2024-12 at 0.3: 0 -> 0.3 over 2024 (366 days), 0.3 -> 1.0 over 2025 (365 days).
@pytest.mark.parametrize(
    ("now", "fraction"),
    [
        (cst("2024-01-01T00:00:00"), 0.0),
        (cst("2024-07-02T00:00:00"), 0.15),
        (cst("2024-12-31T23:59:59"), 0.3 * (366 * 86400 - 1) / (366 * 86400)),
        (cst("2025-01-01T00:00:00"), 0.3),
        (cst("2025-07-02T12:00:00"), 0.65),
        (cst("2026-01-01T00:00:00"), 1.0),
    ],
)
def test_plan_fraction_is_piecewise_linear_through_milestones(
    now: datetime, fraction: float
) -> None:
    milestones = {Period(2024, 12): 0.3}
    assert plan_fraction(START, DEADLINE, now, milestones) == pytest.approx(fraction, abs=1e-12)


@pytest.mark.parametrize(
    ("now", "fraction"),
    [
        (cst("2024-07-01T00:00:00"), 0.2),
        (cst("2024-10-01T00:00:00"), 0.2),  # flat between two equal milestones
        (cst("2025-01-01T00:00:00"), 0.2),
        (cst("2025-07-01T00:00:00"), 0.6),
        (cst("2026-01-01T00:00:00"), 1.0),
    ],
)
def test_plan_fraction_hits_each_milestone_at_the_end_of_its_month(
    now: datetime, fraction: float
) -> None:
    # given out of order on purpose: the plan sorts them
    milestones = {Period(2025, 6): 0.6, Period(2024, 6): 0.2, Period(2024, 12): 0.2}
    assert plan_fraction(START, DEADLINE, now, milestones) == pytest.approx(fraction, abs=1e-12)


@pytest.mark.parametrize(
    ("now", "fraction"),
    [
        (cst("2025-12-31T23:59:59"), None),
        (cst("2026-01-01T00:00:00"), 1.0),
        (cst("2026-02-01T00:00:00"), 1.0),
    ],
)
def test_a_milestone_in_the_deadline_month_ends_with_the_deadline(
    now: datetime, fraction: float | None
) -> None:
    milestones = {Period(2024, 12): 0.5, Period(2025, 12): 1.0}
    result = plan_fraction(START, DEADLINE, now, milestones)
    if fraction is None:
        assert 0.5 < result < 1.0
    else:
        assert result == fraction


def test_no_milestones_and_empty_milestones_plan_the_same() -> None:
    now = cst("2025-03-15T08:30:00")
    assert plan_fraction(START, DEADLINE, now, {}) == plan_fraction(START, DEADLINE, now, None)


# --- attainment and status --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "planned", "ratio"),
    [
        (0, 0, 1.0),
        (5, 0, 1.0),
        (0, -1, 1.0),
        (0, 10, 0.0),
        (9, 10, 0.9),
        (63, 70, 0.9),
        (10, 10, 1.0),
        (12, 10, 1.2),
        (1, 0.5, 2.0),
    ],
)
def test_attainment_is_actual_over_planned_and_one_while_nothing_is_planned(
    actual: float, planned: float, ratio: float
) -> None:
    assert attainment(actual, planned) == ratio


BEFORE_DEADLINE = cst("2025-06-01T12:00:00")
AFTER_DEADLINE = cst("2026-03-01T12:00:00")


@pytest.mark.parametrize(
    ("actual", "target", "ratio", "now", "status"),
    [
        pytest.param(50, 100, 1.2, BEFORE_DEADLINE, Status.ON_TRACK, id="ahead of plan"),
        pytest.param(50, 100, 1.0, BEFORE_DEADLINE, Status.ON_TRACK, id="on plan"),
        pytest.param(50, 100, 0.90, BEFORE_DEADLINE, Status.ON_TRACK, id="exactly at warning"),
        pytest.param(
            50, 100, math.nextafter(0.90, 0), BEFORE_DEADLINE, Status.AT_RISK, id="below warning"
        ),
        pytest.param(50, 100, 0.80, BEFORE_DEADLINE, Status.AT_RISK, id="between tolerances"),
        pytest.param(50, 100, 0.75, BEFORE_DEADLINE, Status.AT_RISK, id="exactly at critical"),
        pytest.param(
            50, 100, math.nextafter(0.75, 0), BEFORE_DEADLINE, Status.BEHIND, id="below critical"
        ),
        pytest.param(0, 100, 0.0, BEFORE_DEADLINE, Status.BEHIND, id="nothing built"),
        pytest.param(100, 100, 0.1, BEFORE_DEADLINE, Status.MET, id="met early"),
        pytest.param(130, 100, 2.0, BEFORE_DEADLINE, Status.MET, id="exceeded"),
        pytest.param(0, 0, 1.0, BEFORE_DEADLINE, Status.MET, id="zero target"),
        pytest.param(100, 100, 1.0, AFTER_DEADLINE, Status.MET, id="met, after deadline"),
        pytest.param(99, 100, 0.99, AFTER_DEADLINE, Status.MISSED, id="short after deadline"),
        pytest.param(0, 100, 0.0, AFTER_DEADLINE, Status.MISSED, id="nothing after deadline"),
    ],
)
def test_status_from_attainment_target_and_deadline(
    actual: int, target: int, ratio: float, now: datetime, status: Status
) -> None:
    result = status_for(
        actual=actual,
        target=target,
        attainment_ratio=ratio,
        deadline=DEADLINE,
        now=now,
        tolerances=DEFAULT_TOLERANCES,
    )
    assert result is status


def test_attainment_exactly_at_warning_tolerance_is_on_track() -> None:
    ratio = attainment(63, 70)
    assert ratio == DEFAULT_TOLERANCES.warning
    assert (
        status_for(
            actual=63,
            target=100,
            attainment_ratio=ratio,
            deadline=DEADLINE,
            now=BEFORE_DEADLINE,
            tolerances=DEFAULT_TOLERANCES,
        )
        is Status.ON_TRACK
    )


@pytest.mark.parametrize(
    ("now", "passed"),
    [
        (cst("2025-12-31T00:00:00"), False),
        (cst("2025-12-31T23:59:59"), False),
        (cst("2025-12-31T23:59:59.999999"), False),
        (utc("2025-12-31T15:59:59"), False),
        (cst("2026-01-01T00:00:00"), True),
        (utc("2025-12-31T16:00:00"), True),
        (cst("2026-01-01T00:00:01"), True),
    ],
)
def test_the_deadline_passes_at_the_end_of_its_day_in_shanghai(now: datetime, passed: bool) -> None:
    assert deadline_passed(DEADLINE, now) is passed
    status = status_for(
        actual=99,
        target=100,
        attainment_ratio=0.99,
        deadline=DEADLINE,
        now=now,
        tolerances=DEFAULT_TOLERANCES,
    )
    assert status is (Status.MISSED if passed else Status.ON_TRACK)


@pytest.mark.parametrize(
    ("ratio", "status"),
    [
        (0.95, Status.ON_TRACK),
        (0.94, Status.AT_RISK),
        (0.50, Status.AT_RISK),
        (0.49, Status.BEHIND),
    ],
)
def test_status_follows_the_programs_own_tolerances(ratio: float, status: Status) -> None:
    result = status_for(
        actual=1,
        target=100,
        attainment_ratio=ratio,
        deadline=DEADLINE,
        now=BEFORE_DEADLINE,
        tolerances=Tolerances(warning=0.95, critical=0.50),
    )
    assert result is status


# --- trailing rate ----------------------------------------------------------------------------

TODAY = date(2024, 6, 30)
WINDOW_FIRST = date(2024, 4, 2)  # 90 days ending 2024-06-30, both ends included


@pytest.mark.parametrize(
    ("sites_by_day", "rate"),
    [
        pytest.param({}, 0.0, id="no sites"),
        pytest.param({TODAY: 90}, 1.0, id="today counts"),
        pytest.param({WINDOW_FIRST: 90}, 1.0, id="first day of the window counts"),
        pytest.param({WINDOW_FIRST - timedelta(days=1): 90}, 0.0, id="day before the window"),
        pytest.param({TODAY + timedelta(days=1): 90}, 0.0, id="tomorrow does not count"),
        pytest.param(one_per_day(WINDOW_FIRST, TODAY), 1.0, id="one a day all window"),
        pytest.param(
            {date(2024, 4, 1): 1000, WINDOW_FIRST: 45, TODAY: 45, date(2024, 7, 1): 1000},
            1.0,
            id="only the window",
        ),
        pytest.param({date(2024, 5, 15): 45}, 0.5, id="averaged over the whole window"),
    ],
)
def test_trailing_rate_averages_the_90_days_ending_today(
    sites_by_day: dict[date, int], rate: float
) -> None:
    assert TRAILING_RATE_DAYS == 90
    assert trailing_rate(sites_by_day, TODAY) == rate


def test_trailing_rate_window_length_is_configurable() -> None:
    sites = {TODAY - timedelta(days=9): 10, TODAY - timedelta(days=10): 10}
    assert trailing_rate(sites, TODAY, days=10) == 1.0


# --- projected completion ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sites_by_day", "target_new", "completion"),
    [
        pytest.param(
            {date(2024, 3, 1): 50, date(2024, 4, 1): 50, date(2024, 5, 1): 10},
            100,
            date(2024, 4, 1),
            id="reached exactly",
        ),
        pytest.param(
            {date(2024, 3, 1): 50, date(2024, 4, 1): 80},
            100,
            date(2024, 4, 1),
            id="overshot",
        ),
        pytest.param({date(2024, 1, 1): 100}, 100, date(2024, 1, 1), id="on the start day"),
        pytest.param({}, 0, START, id="nothing to build"),
        pytest.param({date(2024, 3, 1): 5}, 0, START, id="nothing to build, sites anyway"),
    ],
)
def test_an_already_met_target_completes_on_the_day_the_running_total_reached_it(
    sites_by_day: dict[date, int], target_new: int, completion: date
) -> None:
    projection = project_completion(
        sites_by_day=sites_by_day, start=START, target_new=target_new, now=cst("2024-06-30T12:00")
    )
    assert projection.completion == completion


@pytest.mark.parametrize(
    "sites_by_day",
    [
        pytest.param({}, id="no sites at all"),
        pytest.param({date(2024, 1, 15): 10}, id="none in the last 90 days"),
        pytest.param({date(2023, 12, 31): 500}, id="before the start only"),
        pytest.param({date(2024, 7, 5): 500}, id="dated in the future"),
    ],
)
def test_a_zero_trailing_rate_projects_no_completion(sites_by_day: dict[date, int]) -> None:
    projection = project_completion(
        sites_by_day=sites_by_day, start=START, target_new=100, now=cst("2024-06-30T12:00")
    )
    assert projection.daily_rate == 0.0
    assert projection.completion is None


def test_sites_before_the_start_do_not_count_towards_the_target() -> None:
    projection = project_completion(
        sites_by_day={date(2023, 12, 31): 1000, date(2024, 6, 30): 90},
        start=START,
        target_new=100,
        now=cst("2024-06-30T12:00"),
    )
    assert projection.daily_rate == 1.0
    assert projection.completion == date(2024, 7, 10)


# One site a day for the 90 days ending 2025-12-01: rate 1/day, 90 sites built so far.
RECENT = one_per_day(date(2025, 9, 3), date(2025, 12, 1))


@pytest.mark.parametrize(
    ("now", "target_new", "completion"),
    [
        (cst("2025-12-01T12:00:00"), 91, date(2025, 12, 2)),
        (cst("2025-12-01T12:00:00"), 120, date(2025, 12, 31)),  # on the deadline day
        (cst("2025-12-01T12:00:00"), 121, date(2026, 1, 1)),  # one day after the deadline
        (utc("2025-11-30T16:00:00"), 121, date(2026, 1, 1)),  # already 12-01 in Shanghai
    ],
)
def test_projection_adds_the_remaining_sites_at_the_trailing_rate(
    now: datetime, target_new: int, completion: date
) -> None:
    assert len(RECENT) == 90
    projection = project_completion(
        sites_by_day=RECENT, start=START, target_new=target_new, now=now
    )
    assert projection.daily_rate == 1.0
    assert projection.completion == completion
    assert (projection.completion > DEADLINE) is (target_new > 120)


@pytest.mark.parametrize(
    ("in_window", "target_new", "days_to_go"),
    [
        (45, 46, 2),  # rate 0.5: one more site takes two days
        (45, 48, 6),
        (60, 61, 2),  # rate 2/3: one site takes 1.5 days, rounded up
        (180, 181, 1),  # rate 2: half a day, rounded up
    ],
)
def test_projection_rounds_partial_days_up(
    in_window: int, target_new: int, days_to_go: int
) -> None:
    projection = project_completion(
        sites_by_day={TODAY: in_window},
        start=START,
        target_new=target_new,
        now=cst("2024-06-30T12:00"),
    )
    assert projection.completion == TODAY + timedelta(days=days_to_go)
