"""Where cities and the province stand, judged at their judgement day (shared/domain/progress.py).

Every figure here is computed by hand from the contract: the worked example of §1.1 (Jinan,
quota 6,345, a linear plan for readability), the shipped seasonal profile, the 5g-2027
increment, the province's two conditions, the gigabit values in force and the reporting windows.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shared.domain.calendar import Period
from shared.domain.plan import ProjectionKind, Status
from shared.domain.progress import (
    SiteProgress,
    city_gigabit_progress,
    city_progress,
    city_site_progress,
    in_service_sites,
    province_site_progress,
    readings_in_force,
    report_standing,
)
from shared.domain.state import CityState, IndicatorReading, ReportKind
from shared.domain.targets import GigabitProgram, ProgramKind, SiteProgram, Targets
from shared.targets import load_targets

CST = timezone(timedelta(hours=8))
SHIPPED = load_targets()
JINAN = SHIPPED.cities["jinan"]
JINAN_QUOTA = 6345
JINAN_TARGET_5G_2027 = math.ceil(30 * 9202432 / 10_000) - 18128  # 27,608 - 18,128 = 9,480


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def program(targets: Targets, program_id: str) -> SiteProgram:
    return next(p for p in targets.site_programs if p.id == program_id)


def linear(targets: Targets) -> Targets:
    """The shipped targets with the 5g-2025 plan linear (the worked example's reading)."""
    programs = tuple(
        dataclasses.replace(p, milestones={}) if p.id == "5g-2025" else p
        for p in targets.site_programs
    )
    return dataclasses.replace(targets, site_programs=programs)


LINEAR = linear(SHIPPED)


FIRST_MONTH = Period(2024, 1)
JUNE = Period(2024, 6)


def sites_reported(
    sites_by_day: dict[date, int],
    through: Period,
    *,
    first: Period = FIRST_MONTH,
    as_of: date | None = None,
    city: str = "jinan",
) -> CityState:
    """A city that reported 5G sites for every month from ``first`` to ``through``, the last
    report as of ``as_of`` (that month's last day unless given)."""
    months: set[Period] = set()
    month = first
    while month <= through:
        months.add(month)
        month = month.next()
    return CityState(
        city=city,
        sites_by_day=sites_by_day,
        reported_periods={ReportKind.SITES: frozenset(months)},
        latest_as_of={ReportKind.SITES: as_of or through.last_day},
    )


def jinan_5g_2025(state: CityState, now: datetime, targets: Targets = LINEAR) -> SiteProgress:
    return city_site_progress(targets, program(targets, "5g-2025"), JINAN, state, now)


# --- the worked example (contract §1.1) ----------------------------------------------------------


def test_worked_example_january_report_judged_at_its_as_of_is_on_track() -> None:
    state = sites_reported({date(2024, 1, 15): 275}, Period(2024, 1))
    progress = jinan_5g_2025(state, cst("2024-02-09T12:00"))
    assert progress.judged_as_of == date(2024, 1, 31)
    assert not progress.judged.final
    assert progress.planned_new == pytest.approx(JINAN_QUOTA * 31 / 731)  # 269.08
    assert round(progress.planned_new, 2) == 269.08
    assert progress.attainment == pytest.approx(275 / (JINAN_QUOTA * 31 / 731))
    assert round(progress.attainment or 0, 3) == 1.022
    assert progress.status is Status.ON_TRACK


def test_worked_example_before_december_is_due_nothing_is_final() -> None:
    state = sites_reported({date(2024, 6, 1): 3000, date(2025, 6, 1): 3100}, Period(2025, 11))
    progress = jinan_5g_2025(state, cst("2026-01-05T09:00"))
    assert progress.judged_as_of == date(2025, 11, 30)
    assert not progress.judged.final
    assert progress.new_sites == 6100
    assert progress.status is Status.ON_TRACK  # 6,100 of 6,345 * 699/731 = 6,067.3


def test_worked_example_once_december_is_past_due_it_is_missed_by_245() -> None:
    state = sites_reported({date(2024, 6, 1): 3000, date(2025, 6, 1): 3100}, Period(2025, 11))
    progress = jinan_5g_2025(state, cst("2026-01-11T00:00"))
    assert progress.judged_as_of == date(2025, 12, 31)
    assert progress.judged.final
    assert progress.status is Status.MISSED
    assert progress.required_new - progress.new_sites == 245


def test_a_december_report_sent_early_brings_the_final_judgement_forward() -> None:
    state = sites_reported({date(2025, 6, 1): 6345}, Period(2025, 12), as_of=date(2025, 12, 31))
    progress = jinan_5g_2025(state, cst("2026-01-02T09:00"))
    assert progress.judged.final
    assert progress.status is Status.MET


# --- the shipped seasonal plan ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("through", "share"),
    [
        (Period(2024, 2), 0.04),
        (Period(2024, 6), 0.275),
        (Period(2024, 12), 0.50),
        (Period(2025, 9), 0.90),
        (Period(2025, 12), 1.0),
    ],
)
def test_the_shipped_plan_follows_the_seasonal_milestones_at_month_ends(
    through: Period, share: float
) -> None:
    state = sites_reported({}, through)
    progress = jinan_5g_2025(state, cst("2028-01-01T00:00").replace(year=2028), SHIPPED)
    if through < Period(2025, 12):  # judged at the month the report covers, before the floor
        progress = jinan_5g_2025(
            state, datetime.combine(through.next().first_day, datetime.min.time(), CST), SHIPPED
        )
    assert progress.judged_as_of == through.last_day
    assert progress.planned_new == pytest.approx(JINAN_QUOTA * share)


def test_the_seasonal_plan_is_linear_between_milestones() -> None:
    # 2024-03-31 is 31 of the 122 days from the end of February to the end of June
    state = sites_reported({}, Period(2024, 3))
    progress = jinan_5g_2025(state, cst("2024-04-05T00:00"), SHIPPED)
    share = 0.04 + (0.275 - 0.04) * 31 / 122
    assert progress.planned_new == pytest.approx(JINAN_QUOTA * share)


def test_the_shipped_plan_is_flagged_provisional_and_the_baselines_unverified() -> None:
    rollout = program(SHIPPED, "5g-2025")
    assert rollout.milestones_provisional
    assert rollout.milestones_source
    progress = jinan_5g_2025(sites_reported({}, Period(2024, 1)), cst("2024-02-20T00:00"), SHIPPED)
    assert progress.baseline_verified is False
    assert progress.target_derived is False


# --- no data, floors, met -------------------------------------------------------------------------


def test_a_city_without_a_report_has_no_data_and_no_attainment() -> None:
    progress = jinan_5g_2025(CityState("jinan"), cst("2024-09-15T00:00"))
    assert progress.status is Status.NO_DATA
    assert progress.attainment is None
    assert progress.projection is None
    assert progress.judged_as_of == date(2024, 8, 31)  # still judged at the floor


def test_a_city_that_stops_reporting_after_march_is_judged_at_the_floor_with_what_it_sent() -> None:
    # on plan through March (linear: 6,345 * 91/731 = 789.9 by 2024-03-31), then silence
    state = sites_reported({date(2024, 2, 15): 800}, Period(2024, 3))
    assert jinan_5g_2025(state, cst("2024-04-09T00:00")).status is Status.ON_TRACK
    progress = jinan_5g_2025(state, cst("2024-09-15T00:00"))
    assert progress.judged_as_of == date(2024, 8, 31)
    assert progress.planned_new == pytest.approx(JINAN_QUOTA * 244 / 731)  # 2,117.9
    assert progress.attainment == pytest.approx(800 / (JINAN_QUOTA * 244 / 731))  # 0.378
    assert progress.status is Status.BEHIND


def test_a_target_is_met_as_soon_as_the_actual_at_the_judgement_day_reaches_it() -> None:
    state = sites_reported({date(2024, 5, 1): JINAN_QUOTA}, Period(2024, 5))
    progress = jinan_5g_2025(state, cst("2024-06-01T00:00"))
    assert progress.status is Status.MET
    assert progress.projection is not None and progress.projection.kind is ProjectionKind.MET


def test_sites_after_the_judgement_day_do_not_count_yet() -> None:
    # a May report (as of May 31) listing a site commissioned in June cannot happen; but a June
    # site reported in a later month's report is not counted while judged at May
    state = sites_reported({date(2024, 5, 1): 100, date(2024, 6, 3): 900}, Period(2024, 5))
    assert jinan_5g_2025(state, cst("2024-06-05T00:00")).new_sites == 100


def test_sites_commissioned_after_the_deadline_do_not_count() -> None:
    state = sites_reported({date(2025, 6, 1): 6000, date(2026, 1, 5): 1000}, Period(2026, 1))
    progress = jinan_5g_2025(state, cst("2026-02-20T00:00"))
    assert progress.judged_as_of == date(2025, 12, 31)
    assert progress.new_sites == 6000
    assert progress.status is Status.MISSED


def test_a_one_site_report_projects_beyond_the_horizon_without_raising() -> None:
    state = sites_reported({date(2024, 1, 2): 1}, Period(2024, 1))
    progress = jinan_5g_2025(state, cst("2024-02-09T00:00"))
    assert progress.projection is not None
    # 6,344 remaining at 1 site per 31 days: 196,664 days, far past 2030-12-31
    assert progress.projection.kind is ProjectionKind.BEYOND_HORIZON
    assert progress.projected_completion is None


# --- 5g-2027: on the increment ------------------------------------------------------------------


def test_density_target_is_the_increment_to_30_per_10k_and_is_derived() -> None:
    density = program(SHIPPED, "5g-2027")
    assert density.kind is ProgramKind.SITE_DENSITY
    assert density.target_new(JINAN) == JINAN_TARGET_5G_2027 == 9480
    progress = city_site_progress(
        SHIPPED, density, JINAN, sites_reported({}, Period(2024, 1)), cst("2024-02-20T00:00")
    )
    assert progress.target_derived is True


def test_density_attainment_is_new_over_planned_new_not_the_level() -> None:
    # half-way through 5g-2027 (2024-01-01..2027-12-31 is 1,461 days; end of 2025-12-31 is 731)
    density = program(SHIPPED, "5g-2027")
    state = sites_reported({date(2024, 6, 1): 2370}, Period(2025, 12))
    progress = city_site_progress(SHIPPED, density, JINAN, state, cst("2026-01-11T00:00"))
    planned = JINAN_TARGET_5G_2027 * 731 / 1461
    assert progress.planned_new == pytest.approx(planned)
    assert progress.attainment == pytest.approx(2370 / planned)  # 0.4999: behind, not 0.97
    assert progress.status is Status.BEHIND


def test_a_density_target_of_zero_is_met() -> None:
    rich = dataclasses.replace(JINAN, baseline_sites=40_000)
    density = program(SHIPPED, "5g-2027")
    assert density.target_new(rich) == 0
    progress = city_site_progress(
        SHIPPED, density, rich, sites_reported({}, Period(2024, 1)), cst("2024-02-20T00:00")
    )
    assert progress.status is Status.MET


# --- the province --------------------------------------------------------------------------------


def test_the_province_sums_cities_at_the_day_every_reporting_city_covers() -> None:
    states = {
        "jinan": sites_reported({date(2024, 5, 10): 100, date(2024, 6, 10): 50}, Period(2024, 6)),
        "qingdao": sites_reported({date(2024, 5, 3): 200}, Period(2024, 5), city="qingdao"),
        "zibo": CityState("zibo"),  # not reported: counts zero, does not hold the day back
    }
    rollout = program(LINEAR, "5g-2025")
    progress = province_site_progress(LINEAR, rollout, states, cst("2024-06-05T00:00"))
    assert progress.judged_as_of == date(2024, 5, 31)  # qingdao's May report
    assert progress.new_sites == 300  # jinan's June site is after that day
    assert progress.target_new == 70_000
    assert progress.status is not Status.NO_DATA


def test_the_province_has_no_data_until_a_city_reports() -> None:
    rollout = program(LINEAR, "5g-2025")
    progress = province_site_progress(LINEAR, rollout, {}, cst("2024-06-05T00:00"))
    assert progress.status is Status.NO_DATA


def test_the_province_meets_5g_2025_only_with_more_than_270000_in_service() -> None:
    rollout = program(SHIPPED, "5g-2025")
    assert rollout.province_in_service_over == 270_000
    # the shipped baselines sum to exactly 200,000: 70,000 new sites make 270,000, not over it
    states = {"jinan": sites_reported({date(2025, 6, 1): 70_000}, Period(2025, 12))}
    progress = province_site_progress(SHIPPED, rollout, states, cst("2026-01-11T00:00"))
    assert progress.required_new == 70_001
    assert progress.status is Status.MISSED
    states = {"jinan": sites_reported({date(2025, 6, 1): 70_001}, Period(2025, 12))}
    assert province_site_progress(SHIPPED, rollout, states, cst("2026-01-11T00:00")).status is (
        Status.MET
    )


def test_the_province_density_target_is_province_wide() -> None:
    density = program(SHIPPED, "5g-2027")
    # ceil(30 * 101,527,453 / 10,000) = 304,583 sites, minus the 200,000 baseline
    assert density.province_target(SHIPPED.cities.values()) == 104_583
    assert sum(density.target_new(c) for c in SHIPPED.cities.values()) == 104_591


def test_a_one_site_province_projects_beyond_the_horizon_without_raising() -> None:
    rollout = program(SHIPPED, "5g-2025")
    states = {"jinan": sites_reported({date(2024, 1, 2): 1}, Period(2024, 1))}
    progress = province_site_progress(SHIPPED, rollout, states, cst("2024-02-09T00:00"))
    assert progress.projection is not None
    assert progress.projection.kind is ProjectionKind.BEYOND_HORIZON


# --- gigabit --------------------------------------------------------------------------------------

PASSING_VALUES = {
    "household_gigabit_coverage_pct": 120,
    "pon_10g_port_share_pct": 40,
    "key_location_5g_reach_pct": 95,
    "bs_5g_per_10k": 20,
    "bb_500m_user_share_pct": 35,
    "bb_1000m_users": 500_000,
    "user_5g_share_pct": 25,
}
GIGABIT: GigabitProgram = SHIPPED.gigabit


def gigabit_state(
    values: dict[str, float], through: Period = JUNE, *, history: bool = True
) -> CityState:
    as_of = through.last_day
    readings = {key: IndicatorReading(v, as_of, "r-1") for key, v in values.items()}
    return CityState(
        city="jinan",
        indicators=readings,
        indicator_history=tuple(readings.items()) if history else (),
        reported_periods={ReportKind.GIGABIT: frozenset({through})},
        latest_as_of={ReportKind.GIGABIT: as_of},
    )


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
        ("user_5g_share_pct", 25, True),  # the contract's v2 threshold
        ("user_5g_share_pct", 24.99, False),
        ("bb_1000m_users", 0, None),
    ],
)
def test_each_indicator_rule_at_and_around_its_threshold(
    key: str, value: float, passing: bool | None
) -> None:
    progress = city_gigabit_progress(
        SHIPPED, GIGABIT, gigabit_state(PASSING_VALUES | {key: value}), cst("2024-07-05T00:00")
    )
    standing = next(s for s in progress.indicators if s.indicator.key == key)
    assert standing.passing is passing


@pytest.mark.parametrize(
    ("values", "now", "status", "final"),
    [
        pytest.param(PASSING_VALUES, "2024-07-05", Status.ON_TRACK, False, id="all pass: on track"),
        pytest.param(
            PASSING_VALUES | {"bs_5g_per_10k": 12}, "2024-07-05", Status.AT_RISK, False, id="5/6"
        ),
        pytest.param(
            PASSING_VALUES | {"bs_5g_per_10k": 12, "user_5g_share_pct": 1},
            "2024-07-05",
            Status.BEHIND,
            False,
            id="4/6",
        ),
        pytest.param(
            PASSING_VALUES | {"bs_5g_per_10k": 12},
            "2025-01-01",
            Status.AT_RISK,
            False,
            id="january 1: december is not yet due",
        ),
        pytest.param(
            PASSING_VALUES | {"bs_5g_per_10k": 12}, "2025-01-11", Status.MISSED, True, id="final"
        ),
        pytest.param(PASSING_VALUES, "2025-01-11", Status.MET, True, id="met only at final"),
        pytest.param({}, "2025-01-11", Status.MISSED, True, id="nothing but a report, final"),
    ],
)
def test_gigabit_status_follows_the_tolerances_until_the_final_judgement(
    values: dict[str, float], now: str, status: Status, final: bool
) -> None:
    progress = city_gigabit_progress(SHIPPED, GIGABIT, gigabit_state(values), cst(f"{now}T00:00"))
    assert progress.status is status
    assert progress.judged.final is final


def test_gigabit_without_a_report_has_no_data() -> None:
    progress = city_gigabit_progress(SHIPPED, GIGABIT, CityState("jinan"), cst("2025-02-01T00:00"))
    assert progress.status is Status.NO_DATA
    assert progress.attainment is None


def test_the_values_in_force_are_the_latest_as_of_on_or_before_the_day_ties_to_the_later() -> None:
    key = "bs_5g_per_10k"
    state = CityState(
        city="jinan",
        indicator_history=(
            (key, IndicatorReading(10, date(2024, 6, 30), "june")),
            (key, IndicatorReading(14, date(2024, 8, 31), "august")),
            (key, IndicatorReading(11, date(2024, 7, 31), "july, sent late")),
            (key, IndicatorReading(15, date(2024, 8, 31), "august, corrected")),
            (key, IndicatorReading(30, date(2025, 3, 31), "after the deadline")),
        ),
    )
    assert readings_in_force(state, date(2024, 5, 31)) == {}
    assert readings_in_force(state, date(2024, 7, 31))[key].report_id == "july, sent late"
    assert readings_in_force(state, date(2024, 12, 31))[key].report_id == "august, corrected"
    assert readings_in_force(state, date(2025, 12, 31))[key].report_id == "after the deadline"


def test_a_value_reported_after_the_deadline_does_not_change_the_final_judgement() -> None:
    key = "bs_5g_per_10k"
    late_fix = IndicatorReading(20, date(2025, 3, 31), "march 2025")
    state = gigabit_state(PASSING_VALUES | {key: 11}, Period(2024, 12))
    state = dataclasses.replace(
        state,
        indicators=state.indicators | {key: late_fix},
        indicator_history=(*state.indicator_history, (key, late_fix)),
        latest_as_of={ReportKind.GIGABIT: date(2025, 3, 31)},
    )
    progress = city_gigabit_progress(SHIPPED, GIGABIT, state, cst("2025-04-05T00:00"))
    assert progress.judged_as_of == date(2024, 12, 31)
    assert progress.status is Status.MISSED


def test_without_a_stored_history_the_current_values_are_used() -> None:
    state = gigabit_state(PASSING_VALUES, history=False)
    progress = city_gigabit_progress(SHIPPED, GIGABIT, state, cst("2024-07-05T00:00"))
    assert progress.passing_count == 6


# --- reports --------------------------------------------------------------------------------------


def periods(kind: ReportKind, *months: Period) -> CityState:
    return CityState(city="jinan", reported_periods={kind: frozenset(months)})


@pytest.mark.parametrize(
    ("state", "kind", "now", "missing", "critical"),
    [
        pytest.param(
            periods(ReportKind.SITES),
            ReportKind.SITES,
            "2024-02-10T23:59:59",
            (),
            False,
            id="not due",
        ),
        pytest.param(
            periods(ReportKind.SITES),
            ReportKind.SITES,
            "2024-02-11T00:00",
            (Period(2024, 1),),
            False,
            id="january due",
        ),
        pytest.param(
            periods(ReportKind.SITES, Period(2024, 1), Period(2024, 2), Period(2024, 3)),
            ReportKind.SITES,
            "2024-07-11T00:00",
            (Period(2024, 4), Period(2024, 5), Period(2024, 6)),
            False,
            id="a run of three months",
        ),
        pytest.param(
            periods(ReportKind.SITES, Period(2024, 6)),
            ReportKind.SITES,
            "2024-07-11T00:00",
            (),
            False,
            id="only the latest due month counts",
        ),
        pytest.param(
            periods(ReportKind.GIGABIT, Period(2024, 12)),
            ReportKind.GIGABIT,
            "2025-06-11T00:00",
            (),
            False,
            id="gigabit is not required for 2025 months",
        ),
        pytest.param(
            periods(ReportKind.GIGABIT, Period(2024, 11)),
            ReportKind.GIGABIT,
            "2025-06-11T00:00",
            (Period(2024, 12),),
            True,
            id="december 2024 gigabit missing for good: critical",
        ),
        pytest.param(
            periods(ReportKind.SITES, Period(2025, 11)),
            ReportKind.SITES,
            "2026-01-11T00:00",
            (Period(2025, 12),),
            True,
            id="5g-2025's last month missing: critical",
        ),
        pytest.param(
            periods(ReportKind.SITES, Period(2025, 12)),
            ReportKind.SITES,
            "2026-02-11T00:00",
            (Period(2026, 1),),
            False,
            id="2026 months are required for 5g-2027",
        ),
        pytest.param(
            periods(ReportKind.SITES, Period(2027, 12)),
            ReportKind.SITES,
            "2028-05-11T00:00",
            (),
            False,
            id="no 5g-sites month required after 2027-12",
        ),
    ],
)
def test_overdue_is_the_run_of_missing_months_ending_at_the_latest_required_due_month(
    state: CityState, kind: ReportKind, now: str, missing: tuple[Period, ...], critical: bool
) -> None:
    standing = report_standing(SHIPPED, state, kind, cst(now))
    assert standing.missing == missing
    assert standing.overdue is bool(missing)
    assert standing.critical is critical


def test_a_late_report_clears_overdue_however_late() -> None:
    state = periods(ReportKind.SITES, Period(2024, 1), Period(2024, 2))
    assert (
        report_standing(SHIPPED, state, ReportKind.SITES, cst("2024-03-11T00:00")).overdue is False
    )


def test_the_latest_reported_month_is_known() -> None:
    state = periods(ReportKind.SITES, Period(2024, 1), Period(2024, 3))
    standing = report_standing(SHIPPED, state, ReportKind.SITES, cst("2024-04-05T00:00"))
    assert standing.latest_reported == Period(2024, 3)


def test_city_progress_covers_every_programme_and_report_kind() -> None:
    progress = city_progress(SHIPPED, JINAN, CityState("jinan"), cst("2024-07-01T00:00"))
    assert [p.program for p in progress.sites] == ["5g-2025", "5g-2027"]
    assert [g.program for g in progress.gigabit] == ["gigabit-2024"]
    assert [r.kind for r in progress.reports] == [ReportKind.GIGABIT, ReportKind.SITES]


def test_in_service_sites_are_baseline_plus_sites_commissioned_up_to_today() -> None:
    state = CityState("jinan", sites_by_day={date(2024, 3, 1): 10, date(2024, 9, 1): 5})
    assert in_service_sites(SHIPPED, JINAN, state, cst("2024-06-01T00:00")) == 18128 + 10
    assert in_service_sites(SHIPPED, JINAN, state, datetime(2025, 1, 1, tzinfo=UTC)) == 18128 + 15
