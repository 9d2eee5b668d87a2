"""Where cities and the province stand on the shipped programmes (shared/domain/progress.py)."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shared.domain.calendar import Period
from shared.domain.plan import Status
from shared.domain.progress import (
    city_gigabit_progress,
    city_progress,
    city_site_progress,
    in_service_sites,
    province_site_progress,
    report_standing,
)
from shared.domain.state import CityState, IndicatorReading, ReportKind
from shared.domain.targets import (
    GigabitProgram,
    ProgramKind,
    ReportingCalendar,
    SiteProgram,
    Targets,
)
from shared.targets import load_targets

CST = timezone(timedelta(hours=8))

JINAN_BASELINE = 18128
JINAN_POPULATION = 9202432
JINAN_QUOTA_5G_2025 = 6345
JINAN_TARGET_5G_2027 = math.ceil(30 * JINAN_POPULATION / 10_000) - JINAN_BASELINE  # 27608 - 18128

MID_5G_2025 = "2024-12-31T12:00:00"  # half of 2024-01-01 .. end of 2025-12-31 (731 days)
MID_5G_2027 = "2025-12-31T12:00:00"  # half of 2024-01-01 .. end of 2027-12-31 (1461 days)


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def targets() -> Targets:
    return load_targets()


def site_program(targets: Targets, program_id: str) -> SiteProgram:
    return next(p for p in targets.site_programs if p.id == program_id)


def jinan_with(sites_by_day: dict[date, int]) -> CityState:
    return CityState(city="jinan", sites_by_day=sites_by_day)


# --- 5g-2025: site roll-out ----------------------------------------------------------------------


def test_rollout_progress_reports_target_plan_and_counts(targets: Targets) -> None:
    program = site_program(targets, "5g-2025")
    state = jinan_with({date(2024, 6, 1): 3000})
    progress = city_site_progress(program, targets.cities["jinan"], state, cst(MID_5G_2025))
    assert progress.program == "5g-2025"
    assert progress.kind is ProgramKind.SITE_ROLLOUT
    assert progress.deadline == date(2025, 12, 31)
    assert progress.target_new == JINAN_QUOTA_5G_2025
    assert progress.planned_new == JINAN_QUOTA_5G_2025 / 2
    assert progress.new_sites == 3000
    assert progress.baseline_sites == JINAN_BASELINE
    assert progress.in_service == JINAN_BASELINE + 3000
    assert progress.attainment == 3000 / (JINAN_QUOTA_5G_2025 / 2)


# Half-way, Jinan should have 3172.5 new sites: 0.90 of that is 2855.25, 0.75 is 2379.375.
@pytest.mark.parametrize(
    ("new_sites", "now", "status"),
    [
        (3173, cst(MID_5G_2025), Status.ON_TRACK),
        (2856, cst(MID_5G_2025), Status.ON_TRACK),
        (2855, cst(MID_5G_2025), Status.AT_RISK),
        (2380, cst(MID_5G_2025), Status.AT_RISK),
        (2379, cst(MID_5G_2025), Status.BEHIND),
        (0, cst(MID_5G_2025), Status.BEHIND),
        (JINAN_QUOTA_5G_2025, cst(MID_5G_2025), Status.MET),
        (JINAN_QUOTA_5G_2025, cst("2026-03-01T00:00:00"), Status.MET),
        (JINAN_QUOTA_5G_2025 - 1, cst("2025-12-31T23:59:59"), Status.ON_TRACK),
        (JINAN_QUOTA_5G_2025 - 1, cst("2026-01-01T00:00:00"), Status.MISSED),
    ],
)
def test_rollout_status_is_judged_on_new_sites_against_planned_new_sites(
    targets: Targets, new_sites: int, now: datetime, status: Status
) -> None:
    program = site_program(targets, "5g-2025")
    state = jinan_with({date(2024, 6, 1): new_sites})
    progress = city_site_progress(program, targets.cities["jinan"], state, now)
    assert progress.status is status


@pytest.mark.parametrize(
    ("commissioned_on", "now", "counted"),
    [
        pytest.param(date(2023, 12, 31), cst("2024-06-30T12:00"), False, id="before the start"),
        pytest.param(date(2024, 1, 1), cst("2024-06-30T12:00"), True, id="on the start day"),
        pytest.param(date(2024, 6, 30), cst("2024-06-30T12:00"), True, id="today"),
        pytest.param(date(2024, 7, 1), cst("2024-06-30T12:00"), False, id="tomorrow"),
        pytest.param(date(2024, 7, 1), utc("2024-06-30T15:59:59"), False, id="tomorrow in CST"),
        pytest.param(date(2024, 7, 1), utc("2024-06-30T16:00:00"), True, id="today in CST"),
        pytest.param(date(2025, 12, 31), cst("2026-02-01T12:00"), True, id="on the deadline"),
        pytest.param(date(2026, 1, 1), cst("2026-02-01T12:00"), False, id="after the deadline"),
    ],
)
def test_new_sites_count_only_between_start_and_the_earlier_of_today_and_deadline(
    targets: Targets, commissioned_on: date, now: datetime, counted: bool
) -> None:
    program = site_program(targets, "5g-2025")
    state = jinan_with({commissioned_on: 7, date(2024, 3, 1): 100})
    progress = city_site_progress(program, targets.cities["jinan"], state, now)
    assert progress.new_sites == (107 if counted else 100)


def test_sites_after_the_rollout_deadline_still_count_for_the_density_programme(
    targets: Targets,
) -> None:
    state = jinan_with({date(2026, 1, 1): 7})
    now = cst("2026-02-01T12:00")
    jinan = targets.cities["jinan"]
    assert city_site_progress(site_program(targets, "5g-2025"), jinan, state, now).new_sites == 0
    assert city_site_progress(site_program(targets, "5g-2027"), jinan, state, now).new_sites == 7


def test_city_progress_carries_the_trailing_rate_projection(targets: Targets) -> None:
    program = site_program(targets, "5g-2025")
    state = jinan_with({date(2024, 6, 30): 900})  # 10 a day over the trailing 90 days
    progress = city_site_progress(program, targets.cities["jinan"], state, cst("2024-06-30T12:00"))
    assert progress.daily_rate == 10.0
    remaining_days = math.ceil((JINAN_QUOTA_5G_2025 - 900) / 10)
    assert progress.projected_completion == date(2024, 6, 30) + timedelta(days=remaining_days)


# --- 5g-2027: site density ---------------------------------------------------------------------


def test_density_target_is_the_sites_missing_to_30_per_10k(targets: Targets) -> None:
    program = site_program(targets, "5g-2027")
    progress = city_site_progress(
        program, targets.cities["jinan"], jinan_with({}), cst(MID_5G_2027)
    )
    assert progress.kind is ProgramKind.SITE_DENSITY
    assert progress.target_new == JINAN_TARGET_5G_2027 == 9480
    assert progress.planned_new == JINAN_TARGET_5G_2027 / 2
    assert progress.target_density_per_10k >= 30
    assert progress.target_density_per_10k == pytest.approx(30, abs=0.01)
    assert progress.density_per_10k == pytest.approx(JINAN_BASELINE / JINAN_POPULATION * 10_000)
    assert progress.planned_density_per_10k == pytest.approx(
        (JINAN_BASELINE + JINAN_TARGET_5G_2027 / 2) / JINAN_POPULATION * 10_000
    )


# Half-way, Jinan's planned level is 18128 + 4740 = 22868 sites: 0.90 of that is 20581.2
# (2453.2 new sites); 0.75 is 17151, below the baseline, so it cannot be behind yet.
@pytest.mark.parametrize(
    ("new_sites", "now", "status"),
    [
        (2454, cst(MID_5G_2027), Status.ON_TRACK),
        (2453, cst(MID_5G_2027), Status.AT_RISK),
        (0, cst(MID_5G_2027), Status.AT_RISK),
        (JINAN_TARGET_5G_2027, cst(MID_5G_2027), Status.MET),
        (JINAN_TARGET_5G_2027 - 1, cst("2027-12-31T23:59:59"), Status.ON_TRACK),
        (JINAN_TARGET_5G_2027 - 1, cst("2028-01-01T00:00:00"), Status.MISSED),
        (JINAN_TARGET_5G_2027, cst("2028-01-01T00:00:00"), Status.MET),
    ],
)
def test_density_attainment_is_judged_on_the_level_of_sites_in_service(
    targets: Targets, new_sites: int, now: datetime, status: Status
) -> None:
    program = site_program(targets, "5g-2027")
    state = jinan_with({date(2025, 6, 1): new_sites})
    progress = city_site_progress(program, targets.cities["jinan"], state, now)
    planned_level = JINAN_BASELINE + progress.planned_new
    assert progress.attainment == pytest.approx((JINAN_BASELINE + new_sites) / planned_level)
    assert progress.status is status


def test_density_level_attainment_is_far_kinder_than_counting_new_sites_alone(
    targets: Targets,
) -> None:
    program = site_program(targets, "5g-2027")
    state = jinan_with({date(2025, 6, 1): 2454})
    progress = city_site_progress(program, targets.cities["jinan"], state, cst(MID_5G_2027))
    assert progress.new_sites / progress.planned_new < 0.75
    assert progress.attainment >= 0.90
    assert progress.status is Status.ON_TRACK


def test_density_attainment_is_one_at_the_start(targets: Targets) -> None:
    program = site_program(targets, "5g-2027")
    progress = city_site_progress(
        program, targets.cities["jinan"], jinan_with({}), cst("2024-01-01T00:00")
    )
    assert progress.planned_new == 0
    assert progress.attainment == 1.0
    assert progress.status is Status.ON_TRACK


def test_density_behind_when_the_level_falls_under_the_critical_tolerance(
    targets: Targets,
) -> None:
    # a second before the deadline nearly all 9480 are planned: 0.75 x 27608 = 20706 sites
    program = site_program(targets, "5g-2027")
    now = cst("2027-12-31T23:59:59")
    jinan = targets.cities["jinan"]
    behind = city_site_progress(program, jinan, jinan_with({date(2027, 1, 1): 2577}), now)
    at_risk = city_site_progress(program, jinan, jinan_with({date(2027, 1, 1): 2578}), now)
    assert behind.status is Status.BEHIND
    assert at_risk.status is Status.AT_RISK


# --- the province -----------------------------------------------------------------------------


def test_province_progress_sums_cities(targets: Targets) -> None:
    program = site_program(targets, "5g-2025")
    states = {
        "jinan": CityState("jinan", {date(2024, 3, 1): 10_000, date(2024, 4, 1): 500}),
        "qingdao": CityState("qingdao", {date(2024, 3, 1): 15_000, date(2023, 12, 1): 999}),
        "heze": CityState("heze", {date(2024, 5, 1): 6_500}),
    }
    progress = province_site_progress(program, targets, states, cst(MID_5G_2025))
    assert progress.baseline_sites == 200_000
    assert progress.population == 101_527_453
    assert progress.target_new == 70_000
    assert progress.planned_new == 35_000
    assert progress.new_sites == 32_000
    assert progress.in_service == 232_000
    assert progress.attainment == 32_000 / 35_000
    assert progress.status is Status.ON_TRACK


@pytest.mark.parametrize(
    ("new_sites", "status"),
    [
        (31_500, Status.ON_TRACK),
        (31_499, Status.AT_RISK),
        (26_250, Status.AT_RISK),
        (26_249, Status.BEHIND),
        (70_000, Status.MET),
    ],
)
def test_province_status_follows_the_same_tolerances(
    targets: Targets, new_sites: int, status: Status
) -> None:
    program = site_program(targets, "5g-2025")
    states = {"linyi": CityState("linyi", {date(2024, 6, 1): new_sites})}
    progress = province_site_progress(program, targets, states, cst(MID_5G_2025))
    assert progress.status is status


def test_province_density_target_is_the_sum_of_city_targets(targets: Targets) -> None:
    program = site_program(targets, "5g-2027")
    expected = sum(
        max(0, math.ceil(30 * c.population / 10_000) - c.baseline_sites)
        for c in targets.cities.values()
    )
    progress = province_site_progress(program, targets, {}, cst(MID_5G_2027))
    assert progress.target_new == expected
    assert progress.new_sites == 0


def test_province_trailing_rate_merges_the_same_day_across_cities(targets: Targets) -> None:
    program = site_program(targets, "5g-2025")
    states = {
        "jinan": CityState("jinan", {date(2024, 6, 30): 450}),
        "qingdao": CityState("qingdao", {date(2024, 6, 30): 450}),
    }
    progress = province_site_progress(program, targets, states, cst("2024-06-30T12:00"))
    assert progress.new_sites == 900
    assert progress.daily_rate == 10.0


# --- gigabit-2024 -------------------------------------------------------------------------------

PASSING_VALUES: dict[str, float] = {
    "household_gigabit_coverage_pct": 80.5,  # rule >
    "pon_10g_port_share_pct": 25,  # rule >=, exactly at the threshold
    "key_location_5g_reach_pct": 80,
    "bs_5g_per_10k": 12.01,  # rule >
    "bb_500m_user_share_pct": 27,
    "bb_1000m_users": 250_000,  # tracked only
    "user_5g_share_pct": 27,
}
BEFORE_GIGABIT_DEADLINE = cst("2024-12-31T23:59:59")
AFTER_GIGABIT_DEADLINE = cst("2025-01-01T00:00:00")


def gigabit_state(values: dict[str, float]) -> CityState:
    readings = {
        key: IndicatorReading(value=value, as_of=date(2024, 6, 30), report_id="r-1")
        for key, value in values.items()
    }
    return CityState(city="jinan", indicators=readings)


@pytest.fixture(scope="module")
def gigabit(targets: Targets) -> GigabitProgram:
    return targets.gigabit


@pytest.mark.parametrize(
    ("key", "value", "passing"),
    [
        ("household_gigabit_coverage_pct", 80, False),
        ("household_gigabit_coverage_pct", 80.0001, True),
        ("household_gigabit_coverage_pct", 120, True),  # coverage can exceed 100
        ("bs_5g_per_10k", 12, False),
        ("bs_5g_per_10k", 12.5, True),
        ("pon_10g_port_share_pct", 25, True),
        ("pon_10g_port_share_pct", 24.99, False),
        ("key_location_5g_reach_pct", 80, True),
        ("key_location_5g_reach_pct", 79.9, False),
        ("bb_500m_user_share_pct", 27, True),
        ("bb_500m_user_share_pct", 26.9, False),
        ("user_5g_share_pct", 27, True),
        ("user_5g_share_pct", 0, False),
        ("bb_1000m_users", 0, None),
        ("bb_1000m_users", 1_000_000, None),
    ],
)
def test_each_indicator_rule_at_and_around_its_threshold(
    gigabit: GigabitProgram, key: str, value: float, passing: bool | None
) -> None:
    progress = city_gigabit_progress(
        gigabit, gigabit_state(PASSING_VALUES | {key: value}), BEFORE_GIGABIT_DEADLINE
    )
    standing = next(s for s in progress.indicators if s.indicator.key == key)
    assert standing.passing is passing
    assert progress.standard_met is (passing is not False)


def test_indicators_follow_the_programme_order_and_only_the_tracked_one_lacks_a_threshold(
    gigabit: GigabitProgram,
) -> None:
    progress = city_gigabit_progress(gigabit, gigabit_state({}), BEFORE_GIGABIT_DEADLINE)
    assert [s.indicator.key for s in progress.indicators] == list(PASSING_VALUES)
    assert [s.indicator.key for s in progress.indicators if s.indicator.threshold is None] == [
        "bb_1000m_users"
    ]
    assert len(progress.thresholded) == 6


@pytest.mark.parametrize(
    ("missing", "passing"),
    [
        ("pon_10g_port_share_pct", False),
        ("household_gigabit_coverage_pct", False),
        ("bb_1000m_users", None),
    ],
)
def test_a_missing_value_fails_its_threshold_but_a_missing_tracked_value_does_not(
    gigabit: GigabitProgram, missing: str, passing: bool | None
) -> None:
    values = {k: v for k, v in PASSING_VALUES.items() if k != missing}
    progress = city_gigabit_progress(gigabit, gigabit_state(values), BEFORE_GIGABIT_DEADLINE)
    standing = next(s for s in progress.indicators if s.indicator.key == missing)
    assert standing.reading is None
    assert standing.passing is passing
    assert progress.standard_met is (passing is None)


@pytest.mark.parametrize(
    ("values", "now", "status"),
    [
        pytest.param(PASSING_VALUES, BEFORE_GIGABIT_DEADLINE, Status.MET, id="all pass"),
        pytest.param(PASSING_VALUES, AFTER_GIGABIT_DEADLINE, Status.MET, id="all pass, late"),
        pytest.param(
            PASSING_VALUES | {"bs_5g_per_10k": 12},
            BEFORE_GIGABIT_DEADLINE,
            Status.BEHIND,
            id="one fails",
        ),
        pytest.param(
            {k: v for k, v in PASSING_VALUES.items() if k != "user_5g_share_pct"},
            BEFORE_GIGABIT_DEADLINE,
            Status.AT_RISK,
            id="one missing, none failing",
        ),
        pytest.param({}, BEFORE_GIGABIT_DEADLINE, Status.AT_RISK, id="nothing reported"),
        pytest.param(
            {"bs_5g_per_10k": 3, "pon_10g_port_share_pct": 40},
            BEFORE_GIGABIT_DEADLINE,
            Status.BEHIND,
            id="one fails, others missing",
        ),
        pytest.param(
            PASSING_VALUES | {"bs_5g_per_10k": 12},
            AFTER_GIGABIT_DEADLINE,
            Status.MISSED,
            id="one fails after the deadline",
        ),
        pytest.param({}, AFTER_GIGABIT_DEADLINE, Status.MISSED, id="nothing after the deadline"),
        pytest.param(
            {k: v for k, v in PASSING_VALUES.items() if k != "bb_1000m_users"},
            AFTER_GIGABIT_DEADLINE,
            Status.MET,
            id="tracked value missing after the deadline",
        ),
    ],
)
def test_gigabit_status(
    gigabit: GigabitProgram, values: dict[str, float], now: datetime, status: Status
) -> None:
    assert city_gigabit_progress(gigabit, gigabit_state(values), now).status is status


@pytest.mark.parametrize(
    ("values", "passing_count"),
    [
        (PASSING_VALUES, 6),
        (PASSING_VALUES | {"bs_5g_per_10k": 1, "user_5g_share_pct": 1}, 4),
        ({}, 0),
    ],
)
def test_gigabit_attainment_is_the_share_of_thresholded_indicators_passing(
    gigabit: GigabitProgram, values: dict[str, float], passing_count: int
) -> None:
    progress = city_gigabit_progress(gigabit, gigabit_state(values), BEFORE_GIGABIT_DEADLINE)
    assert progress.passing_count == passing_count
    assert progress.attainment == passing_count / 6


# --- reports overdue ----------------------------------------------------------------------------


def reports(periods: dict[ReportKind, set[Period]], last: datetime | None = None) -> CityState:
    return CityState(
        city="jinan",
        reported_periods={kind: frozenset(p) for kind, p in periods.items()},
        last_received={kind: last for kind in periods} if last else {},
    )


JUNE = Period(2024, 6)
MAY = Period(2024, 5)


@pytest.mark.parametrize(
    ("reported", "now", "latest_due", "overdue"),
    [
        pytest.param(set(), cst("2024-01-20T12:00"), None, False, id="first month running"),
        pytest.param(set(), cst("2024-02-10T23:59:59"), None, False, id="january not yet due"),
        pytest.param(set(), cst("2024-02-11T00:00:00"), Period(2024, 1), True, id="january due"),
        pytest.param({Period(2024, 1)}, cst("2024-02-11T00:00"), Period(2024, 1), False, id="jan"),
        pytest.param({MAY}, cst("2024-07-10T23:59:59"), MAY, False, id="june not yet due"),
        pytest.param({MAY}, cst("2024-07-11T00:00:00"), JUNE, True, id="june just due"),
        pytest.param({MAY}, utc("2024-07-10T16:00:00"), JUNE, True, id="june due, utc clock"),
        pytest.param({MAY}, utc("2024-07-10T15:59:59"), MAY, False, id="june not due, utc"),
        pytest.param({JUNE}, cst("2024-07-11T00:00:00"), JUNE, False, id="only latest counts"),
        pytest.param({MAY, JUNE}, cst("2024-07-31T00:00:00"), JUNE, False, id="all in"),
        pytest.param({JUNE}, cst("2024-08-11T00:00:00"), Period(2024, 7), True, id="next month"),
        pytest.param(
            {Period(2024, 11)}, cst("2025-01-11T00:00:00"), Period(2024, 12), True, id="december"
        ),
    ],
)
def test_a_city_is_overdue_without_a_report_for_the_latest_month_past_due(
    targets: Targets,
    reported: set[Period],
    now: datetime,
    latest_due: Period | None,
    overdue: bool,
) -> None:
    state = reports({ReportKind.SITES: reported})
    standing = report_standing(targets, state, ReportKind.SITES, now)
    assert standing.kind is ReportKind.SITES
    assert standing.latest_due == latest_due
    assert standing.overdue is overdue


def test_a_late_report_clears_overdue(targets: Targets) -> None:
    now = cst("2024-07-20T09:00")
    before = report_standing(targets, reports({ReportKind.SITES: {MAY}}), ReportKind.SITES, now)
    late = cst("2024-07-20T08:00")
    after = report_standing(
        targets, reports({ReportKind.SITES: {MAY, JUNE}}, late), ReportKind.SITES, now
    )
    assert before.overdue is True
    assert after.overdue is False
    assert after.last_received == late


def test_each_report_kind_is_overdue_on_its_own(targets: Targets) -> None:
    state = reports({ReportKind.SITES: {JUNE}, ReportKind.GIGABIT: {MAY}})
    now = cst("2024-07-15T12:00")
    assert report_standing(targets, state, ReportKind.SITES, now).overdue is False
    assert report_standing(targets, state, ReportKind.GIGABIT, now).overdue is True


@pytest.mark.parametrize(
    ("now", "latest_due", "overdue"),
    [
        (cst("2024-06-30T12:00:00"), None, False),
        (cst("2024-07-10T23:59:59"), None, False),
        (cst("2024-07-11T00:00:00"), JUNE, True),
    ],
)
def test_nothing_is_due_before_the_reporting_start_month(
    targets: Targets, now: datetime, latest_due: Period | None, overdue: bool
) -> None:
    late_start = dataclasses.replace(targets, reporting=ReportingCalendar(start=JUNE, due_day=10))
    standing = report_standing(late_start, CityState(city="jinan"), ReportKind.GIGABIT, now)
    assert standing.latest_due == latest_due
    assert standing.overdue is overdue
    assert standing.last_received is None


# --- a city as a whole -----------------------------------------------------------------------


def test_city_progress_covers_every_programme_and_report_kind(targets: Targets) -> None:
    jinan = targets.cities["jinan"]
    state = jinan_with({date(2024, 5, 1): 100})
    progress = city_progress(targets, jinan, state, cst("2024-07-15T12:00"))
    assert progress.city is jinan
    assert [p.program for p in progress.sites] == ["5g-2025", "5g-2027"]
    assert [g.program for g in progress.gigabit] == ["gigabit-2024"]
    assert {r.kind for r in progress.reports} == set(ReportKind)


@pytest.mark.parametrize(
    ("now", "in_service"),
    [
        (cst("2024-06-30T12:00"), JINAN_BASELINE + 100),
        (cst("2024-07-01T00:00"), JINAN_BASELINE + 105),
        (cst("2026-07-01T00:00"), JINAN_BASELINE + 112),
    ],
)
def test_in_service_sites_are_baseline_plus_sites_commissioned_up_to_today(
    targets: Targets, now: datetime, in_service: int
) -> None:
    state = jinan_with(
        {date(2023, 12, 31): 50, date(2024, 5, 1): 100, date(2024, 7, 1): 5, date(2026, 1, 1): 7}
    )
    assert in_service_sites(targets, targets.cities["jinan"], state, now) == in_service
