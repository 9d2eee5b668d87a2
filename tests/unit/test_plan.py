"""Plan-to-date, attainment, status and projections (shared/domain/plan.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shared.domain.calendar import Period
from shared.domain.daily_counts import DailyCounts
from shared.domain.plan import (
    Projection,
    ProjectionKind,
    Status,
    attainment,
    plan_fraction,
    project_completion,
    projection_horizon,
    status_for,
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
        (50, 100, 0.5),
        (150, 100, 1.5),
        (0, 100, 0.0),
        (0, 0, 1.0),
        (10, 0, 1.0),
        (275, 6345 * 31 / 731, 275 / (6345 * 31 / 731)),
    ],
)
def test_attainment_is_actual_over_planned_and_one_while_nothing_is_planned(
    actual: float, planned: float, ratio: float
) -> None:
    assert attainment(actual, planned) == ratio


@pytest.mark.parametrize(
    ("reached", "final", "ratio", "status"),
    [
        pytest.param(True, False, 0.2, Status.MET, id="met as soon as reached"),
        pytest.param(True, True, 0.2, Status.MET, id="met at final judgement"),
        pytest.param(False, True, 1.5, Status.MISSED, id="short at final judgement"),
        pytest.param(False, False, 1.0, Status.ON_TRACK, id="on plan"),
        pytest.param(False, False, 0.90, Status.ON_TRACK, id="exactly the warning tolerance"),
        pytest.param(False, False, 0.8999, Status.AT_RISK, id="just under 0.90"),
        pytest.param(False, False, 0.75, Status.AT_RISK, id="exactly the critical tolerance"),
        pytest.param(False, False, 0.7499, Status.BEHIND, id="just under 0.75"),
        pytest.param(False, False, 0.0, Status.BEHIND, id="nothing built"),
    ],
)
def test_status_is_met_when_reached_missed_only_at_final_judgement_else_by_tolerance(
    reached: bool, final: bool, ratio: float, status: Status
) -> None:
    assert (
        status_for(
            reached=reached, final=final, attainment_ratio=ratio, tolerances=DEFAULT_TOLERANCES
        )
        is status
    )


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
    tolerances = Tolerances(warning=0.95, critical=0.50)
    assert (
        status_for(reached=False, final=False, attainment_ratio=ratio, tolerances=tolerances)
        is status
    )


# --- projection --------------------------------------------------------------------------------


def project(sites_by_day: dict[date, int], judged: date, required: int = 1000) -> Projection:
    return project_completion(
        counts=DailyCounts(sites_by_day),
        start=START,
        deadline=DEADLINE,
        required_new=required,
        judged=judged,
    )


def test_the_window_ends_at_the_judgement_day_and_holds_90_days() -> None:
    # 90 sites in the 90 days ending 2024-06-30 (from 2024-04-02), and 500 earlier ones
    sites = one_per_day(date(2024, 4, 2), date(2024, 6, 30)) | {date(2024, 1, 15): 500}
    projection = project(sites, date(2024, 6, 30))
    assert projection.daily_rate == 1.0
    # 1000 - 590 = 410 remaining at 1 a day
    assert projection.kind is ProjectionKind.DATE
    assert projection.completion == date(2024, 6, 30) + timedelta(days=410)


def test_sites_after_the_judgement_day_are_not_in_the_window() -> None:
    sites = one_per_day(date(2024, 4, 2), date(2024, 6, 30)) | {date(2024, 7, 5): 300}
    assert project(sites, date(2024, 6, 30)).daily_rate == 1.0


@pytest.mark.parametrize(
    ("judged", "rate"),
    [
        pytest.param(date(2024, 1, 1), 31 / 1, id="the first day: a window of 1"),
        pytest.param(date(2024, 1, 31), 31 / 31, id="31 days after the start: 31"),
        pytest.param(date(2024, 3, 30), 31 / 90, id="the 90th day: 90"),
        pytest.param(date(2024, 3, 31), 0.0, id="day one has left the window"),
    ],
)
def test_the_window_is_shorter_than_90_days_at_the_start(judged: date, rate: float) -> None:
    assert project({date(2024, 1, 1): 31}, judged).daily_rate == rate


def test_the_worked_example_january_rate_projects_within_the_deadline() -> None:
    # Jinan: 275 sites in January 2024, judged at 2024-01-31: W = 31, remaining 6,070;
    # ceil(6070 * 31 / 275) = ceil(684.25...) = 685 days after 2024-01-31 = 2025-12-16
    projection = project({date(2024, 1, 20): 275}, date(2024, 1, 31), required=6345)
    assert projection.daily_rate == 275 / 31
    assert projection.kind is ProjectionKind.DATE
    assert projection.completion == date(2025, 12, 16)


def test_no_projection_before_the_start() -> None:
    projection = project({}, date(2023, 12, 31))
    assert projection.kind is None
    assert projection.completion is None
    assert projection.daily_rate == 0.0


@pytest.mark.parametrize(
    "sites_by_day",
    [
        pytest.param({}, id="nothing at all"),
        pytest.param({date(2024, 1, 10): 100}, id="nothing in the last 90 days"),
    ],
)
def test_a_zero_rate_projects_never(sites_by_day: dict[date, int]) -> None:
    projection = project(sites_by_day, date(2024, 9, 30))
    assert projection.kind is ProjectionKind.NEVER
    assert projection.completion is None


def test_a_target_already_reached_is_met_on_the_day_the_running_total_reached_it() -> None:
    sites = {date(2024, 2, 1): 600, date(2024, 3, 1): 400, date(2024, 4, 1): 50}
    projection = project(sites, date(2024, 6, 30))
    assert projection.kind is ProjectionKind.MET
    assert projection.completion == date(2024, 3, 1)


def test_a_zero_target_is_met() -> None:
    projection = project({}, date(2024, 6, 30), required=0)
    assert projection.kind is ProjectionKind.MET


def test_sites_before_the_start_do_not_count_towards_the_target() -> None:
    sites = {date(2023, 12, 1): 5000, date(2024, 3, 1): 90}
    projection = project(sites, date(2024, 5, 29))
    assert projection.kind is ProjectionKind.DATE  # 90 of 1000: not met by the 5,000 before


@pytest.mark.parametrize(
    ("in_window", "remaining", "days"),
    [
        (90, 10, 10),  # 1 a day
        (90, 1, 1),
        (7, 10, 129),  # 10 * 90 / 7 = 128.57 -> 129
        (180, 3, 2),  # 1.5 a day
    ],
)
def test_projection_rounds_partial_days_up_in_whole_numbers(
    in_window: int, remaining: int, days: int
) -> None:
    judged = date(2024, 9, 30)
    sites = {judged: in_window, date(2024, 1, 5): 1000 - remaining - in_window}
    projection = project(sites, judged)
    assert projection.completion == judged + timedelta(days=days)


@pytest.mark.parametrize(
    ("judged", "required"),
    [
        pytest.param(date(2024, 1, 1), 70_000, id="one site on day one: 70,000 years away"),
        pytest.param(date(2025, 12, 31), 10**15, id="an absurd target"),
        pytest.param(date(9990, 1, 1), 10**9, id="near the end of the calendar"),
    ],
)
def test_a_projection_past_the_horizon_is_beyond_horizon_and_never_raises(
    judged: date, required: int
) -> None:
    projection = project_completion(
        counts=DailyCounts({judged: 1}),
        start=min(judged, START),
        deadline=max(judged, DEADLINE) if judged.year < 9990 else date(9990, 12, 31),
        required_new=required,
        judged=judged,
    )
    assert projection.kind is ProjectionKind.BEYOND_HORIZON
    assert projection.completion is None


def test_the_horizon_is_five_years_after_the_deadline() -> None:
    assert projection_horizon(date(2025, 12, 31)) == date(2030, 12, 31)
    assert projection_horizon(date(2024, 2, 29)) == date(2029, 2, 28)


def test_a_projection_on_the_horizon_is_a_date() -> None:
    # 1 site a day over 90 days; 1,826 days from 2025-12-31 to 2030-12-31
    judged = date(2025, 12, 31)
    remaining = (date(2030, 12, 31) - judged).days
    sites = one_per_day(judged - timedelta(days=89), judged)
    projection = project(sites, judged, required=90 + remaining)
    assert projection.kind is ProjectionKind.DATE
    assert projection.completion == date(2030, 12, 31)
    one_more = project(sites, judged, required=90 + remaining + 1)
    assert one_more.kind is ProjectionKind.BEYOND_HORIZON


@pytest.mark.parametrize(
    ("kind", "completion", "after"),
    [
        (ProjectionKind.DATE, date(2025, 12, 31), False),
        (ProjectionKind.DATE, date(2026, 1, 1), True),
        (ProjectionKind.NEVER, None, True),
        (ProjectionKind.BEYOND_HORIZON, None, True),
        (ProjectionKind.MET, date(2024, 5, 1), False),
        (None, None, False),
    ],
)
def test_lands_after_the_deadline(
    kind: ProjectionKind | None, completion: date | None, after: bool
) -> None:
    projection = Projection(kind, 1.0, completion, date(2030, 12, 31))
    assert projection.lands_after(DEADLINE) is after
