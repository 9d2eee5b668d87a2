"""Every month's standing, restated (shared/domain/history.py, contract §6).

The expected rows are worked out by hand from the contract: the shipped 5g-2025 seasonal profile
(0.04 by the end of February, 0.275 by the end of June, linear in time between), Jinan's quota of
6,345, the tolerances 0.90 / 0.75, the gigabit thresholds of §1, and the reporting calendar
(the report for month M is due by the end of the 10th of M+1, Asia/Shanghai).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from shared.domain.calendar import Period
from shared.domain.history import (
    GigabitMonth,
    ProvinceGigabitStanding,
    SiteMonth,
    Timeliness,
    city_history,
    city_month,
    province_history,
)
from shared.domain.plan import Status
from shared.domain.progress import SiteProgress, city_site_progress
from shared.domain.state import CityState, IndicatorReading, ReportKind
from shared.domain.targets import SiteProgram
from shared.targets import load_targets

CST = timezone(timedelta(hours=8))
SHIPPED = load_targets()
JINAN = SHIPPED.cities["jinan"]
ROLLOUT: SiteProgram = next(p for p in SHIPPED.site_programs if p.id == "5g-2025")
GIGABIT = SHIPPED.gigabit


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def months(first: str, last: str) -> list[Period]:
    found, month = [], Period.parse(first)
    while month <= Period.parse(last):
        found.append(month)
        month = month.next()
    return found


# --- a city on 5g-2025: a late report, a missing month, a decommissioned site ------------------

# Jinan's 5G-site reports, as the aggregator left them:
# - January: none, ever (its 100 sites of 2024-01-15 came in February's report) -> missing, and
#   no_data: the city's first reported month is February;
# - February: received 2024-03-20, after its due instant 2024-03-11 00:00 -> late;
# - March: none -> missing (its 200 sites of 2024-03-20 came in April's report);
# - April, May, June: on time (May's at 23:59 on the due day itself);
# - June's report decommissioned one of January's sites: Pacer now holds 99 on 2024-01-15, and
#   the restated history counts 99 in every month, January included.
JINAN_SITES = {
    date(2024, 1, 15): 99,
    date(2024, 2, 10): 150,
    date(2024, 3, 20): 200,
    date(2024, 4, 10): 300,
    date(2024, 5, 15): 400,
    date(2024, 6, 20): 500,
}
JINAN_RECEIVED = {
    Period(2024, 2): cst("2024-03-20T09:00"),
    Period(2024, 4): cst("2024-05-08T10:00"),
    Period(2024, 5): cst("2024-06-10T23:59"),
    Period(2024, 6): cst("2024-07-02T16:30"),
}


def jinan_sites_state() -> CityState:
    return CityState(
        city="jinan",
        sites_by_day=dict(JINAN_SITES),
        reported_periods={ReportKind.SITES: frozenset(JINAN_RECEIVED)},
        latest_as_of={ReportKind.SITES: date(2024, 6, 30)},
        period_received={ReportKind.SITES: dict(JINAN_RECEIVED)},
    )


# Share of 5g-2025 due by the end of each day: 0 at 2024-01-01 00:00, 0.04 at 2024-03-01 00:00
# (60 days later), 0.275 at 2024-07-01 00:00 (122 days after that), linear between.
SHARE = {
    "2024-01": 0.04 * 31 / 60,
    "2024-02": 0.04,
    "2024-03": 0.04 + 0.235 * 31 / 122,
    "2024-04": 0.04 + 0.235 * 61 / 122,
    "2024-05": 0.04 + 0.235 * 92 / 122,
    "2024-06": 0.275,
}
# month: (cumulative new, planned = 6,345 x share, attainment, status, report, received)
JINAN_ROWS = {
    "2024-01": (99, 131.13, None, Status.NO_DATA, Timeliness.MISSING, None),
    "2024-02": (249, 253.8, 0.9811, Status.ON_TRACK, Timeliness.LATE, "2024-03-20T09:00"),
    "2024-03": (449, 632.68, 0.7097, Status.BEHIND, Timeliness.MISSING, None),
    "2024-04": (749, 999.34, 0.7495, Status.BEHIND, Timeliness.ON_TIME, "2024-05-08T10:00"),
    "2024-05": (1149, 1378.22, 0.8337, Status.AT_RISK, Timeliness.ON_TIME, "2024-06-10T23:59"),
    "2024-06": (1649, 1744.88, 0.9451, Status.ON_TRACK, Timeliness.ON_TIME, "2024-07-02T16:30"),
}
JINAN_NOW = cst("2024-07-15T12:00")  # June's report is past due: F = D = 2024-06-30


def test_jinan_5g_2025_history_restates_each_month_end_with_what_pacer_knows_now() -> None:
    rows = city_history(SHIPPED, ROLLOUT, JINAN, jinan_sites_state(), JINAN_NOW)
    assert [str(r.month) for r in rows] == list(JINAN_ROWS)
    for row in rows:
        assert isinstance(row, SiteMonth)
        new, planned, ratio, status, timeliness, received = JINAN_ROWS[str(row.month)]
        where = str(row.month)
        assert row.progress.judged_as_of == row.month.last_day, where
        assert not row.progress.judged.final, where
        assert row.progress.new_sites == new, where
        assert row.progress.planned_new == pytest.approx(6345 * SHARE[where]), where
        assert round(row.progress.planned_new, 2) == planned, where
        if ratio is None:
            assert row.progress.attainment is None, where
        else:
            assert row.progress.attainment == pytest.approx(new / (6345 * SHARE[where])), where
            assert round(row.progress.attainment or 0, 4) == ratio, where
        assert row.progress.status is status, where
        assert row.report.timeliness is timeliness, where
        assert row.report.received_at == (cst(received) if received else None), where
        assert row.report.due == datetime(
            row.month.next().year, row.month.next().month, 11, tzinfo=CST
        ), where


def test_the_month_of_d_is_the_live_judgement() -> None:
    state = jinan_sites_state()
    last = city_history(SHIPPED, ROLLOUT, JINAN, state, JINAN_NOW)[-1]
    assert last.progress == city_site_progress(SHIPPED, ROLLOUT, JINAN, state, JINAN_NOW)


def test_a_report_on_the_due_day_at_23_59_is_on_time_and_at_midnight_late() -> None:
    state = jinan_sites_state()
    received = dict(JINAN_RECEIVED) | {Period(2024, 5): cst("2024-06-11T00:00")}
    late = CityState(
        city="jinan",
        sites_by_day=state.sites_by_day,
        reported_periods=state.reported_periods,
        latest_as_of=state.latest_as_of,
        period_received={ReportKind.SITES: received},
    )
    row = city_month(SHIPPED, ROLLOUT, JINAN, late, JINAN_NOW, Period(2024, 5))
    assert row is not None and row.report.timeliness is Timeliness.LATE


def test_a_month_not_yet_due_before_an_early_reported_month_is_not_due() -> None:
    # On 2024-08-05 June is the latest month past due (F = 2024-06-30). Jinan sent August's
    # report early (as of 2024-08-03), so D = 2024-08-03 and July, unreported and due only at the
    # end of 2024-08-10, is in the history as not_due; August is judged at D itself.
    state = CityState(
        city="jinan",
        sites_by_day=dict(JINAN_SITES) | {date(2024, 8, 2): 10},
        reported_periods={ReportKind.SITES: frozenset(JINAN_RECEIVED) | {Period(2024, 8)}},
        latest_as_of={ReportKind.SITES: date(2024, 8, 3)},
        period_received={
            ReportKind.SITES: dict(JINAN_RECEIVED) | {Period(2024, 8): cst("2024-08-04T08:00")}
        },
    )
    rows = city_history(SHIPPED, ROLLOUT, JINAN, state, cst("2024-08-05T12:00"))
    july, august = rows[-2], rows[-1]
    assert (str(july.month), july.report.timeliness) == ("2024-07", Timeliness.NOT_DUE)
    assert july.progress.judged_as_of == date(2024, 7, 31)
    assert july.progress.new_sites == 1649
    assert (str(august.month), august.report.timeliness) == ("2024-08", Timeliness.ON_TIME)
    assert august.progress.judged_as_of == date(2024, 8, 3)
    assert august.progress.new_sites == 1659


def test_a_month_reported_before_pacer_recorded_receipts_is_unrecorded() -> None:
    state = CityState(
        city="jinan",
        sites_by_day={date(2024, 1, 15): 10},
        reported_periods={ReportKind.SITES: frozenset({Period(2024, 1)})},
        latest_as_of={ReportKind.SITES: date(2024, 1, 31)},
    )
    (row,) = city_history(SHIPPED, ROLLOUT, JINAN, state, cst("2024-02-20T00:00"))
    assert row.report.timeliness is Timeliness.UNRECORDED
    assert row.report.received_at is None


def test_before_the_first_report_is_due_the_history_is_empty() -> None:
    # D = the floor, 2023-12-31, before the programme's first month
    assert city_history(SHIPPED, ROLLOUT, JINAN, CityState("jinan"), cst("2024-01-20T00:00")) == []


def test_a_city_that_never_reported_has_a_no_data_row_for_every_month() -> None:
    rows = city_history(SHIPPED, ROLLOUT, JINAN, CityState("jinan"), cst("2024-04-11T00:00"))
    assert [str(r.month) for r in rows] == ["2024-01", "2024-02", "2024-03"]
    assert {r.progress.status for r in rows} == {Status.NO_DATA}
    assert {r.report.timeliness for r in rows} == {Timeliness.MISSING}


def test_after_the_deadline_the_history_stops_at_the_deadline_month_and_judges_it_final() -> None:
    state = CityState(
        city="jinan",
        sites_by_day={date(2024, 6, 1): 6000},
        reported_periods={ReportKind.SITES: frozenset({Period(2024, 6)})},
        latest_as_of={ReportKind.SITES: date(2024, 6, 30)},
    )
    rows = city_history(SHIPPED, ROLLOUT, JINAN, state, cst("2026-03-01T00:00"))
    assert [str(r.month) for r in rows] == [str(m) for m in months("2024-01", "2025-12")]
    assert rows[-1].progress.judged_as_of == date(2025, 12, 31)
    assert rows[-1].progress.judged.final
    assert rows[-1].progress.status is Status.MISSED  # 6,000 of 6,345
    assert not rows[-2].progress.judged.final
    # November: 6,000 of 6,345 x (0.90 + 0.10 x 61/92) = 6,131.2 planned, 0.979
    assert rows[-2].progress.status is Status.ON_TRACK


# --- a city on gigabit-2024: a value replaced by a later as_of ---------------------------------

JAN, FEB, MAR = date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)
R1 = {  # January, as of 2024-01-31, received 2024-02-05 (on time)
    "household_gigabit_coverage_pct": 85.0,  # > 80 passes
    "pon_10g_port_share_pct": 30.0,  # >= 25
    "key_location_5g_reach_pct": 85.0,  # >= 80
    "bs_5g_per_10k": 20.0,  # > 12
    "bb_500m_user_share_pct": 20.0,  # >= 27 fails
    "bb_1000m_users": 100_000.0,  # tracked
    "user_5g_share_pct": 30.0,  # >= 25
}
R2 = {"bb_500m_user_share_pct": 28.0}  # February, as of 2024-02-29: passes from then on
R3 = {"household_gigabit_coverage_pct": 78.0}  # March, as of 2024-03-31, received late: fails
R4 = {"bb_500m_user_share_pct": 26.0}  # a January correction sent in April, as of 2024-01-31


def jinan_gigabit_state() -> CityState:
    history = (
        [(k, IndicatorReading(v, JAN, "r1")) for k, v in R1.items()]
        + [(k, IndicatorReading(v, FEB, "r2")) for k, v in R2.items()]
        + [(k, IndicatorReading(v, MAR, "r3")) for k, v in R3.items()]
        + [(k, IndicatorReading(v, JAN, "r4")) for k, v in R4.items()]
    )
    return CityState(
        city="jinan",
        indicator_history=tuple(history),
        reported_periods={ReportKind.GIGABIT: frozenset(months("2024-01", "2024-03"))},
        latest_as_of={ReportKind.GIGABIT: MAR},
        period_received={
            ReportKind.GIGABIT: {
                Period(2024, 1): cst("2024-02-05T10:00"),  # r4 came later: the first counts
                Period(2024, 2): cst("2024-03-05T10:00"),
                Period(2024, 3): cst("2024-04-12T10:00"),  # due 2024-04-11 00:00
            }
        },
    )


def test_jinan_gigabit_history_uses_the_values_in_force_at_each_month_end() -> None:
    rows = city_history(SHIPPED, GIGABIT, JINAN, jinan_gigabit_state(), cst("2024-04-20T00:00"))
    assert [str(r.month) for r in rows] == ["2024-01", "2024-02", "2024-03"]
    values = [
        {s.indicator.key: s.reading.value for s in r.progress.indicators if s.reading}
        for r in rows
        if isinstance(r, GigabitMonth)
    ]
    # January: r4 ties r1 on as_of and was submitted later, so 26 is in force (still failing).
    assert values[0] == R1 | {"bb_500m_user_share_pct": 26.0}
    # February: r2's later as_of replaces it; r4, older, does not.
    assert values[1] == R1 | R2
    assert values[2] == R1 | R2 | R3
    assert [r.progress.status for r in rows] == [Status.AT_RISK, Status.ON_TRACK, Status.AT_RISK]
    five_of_six = pytest.approx(5 / 6)
    assert [r.progress.attainment for r in rows] == [five_of_six, 1.0, five_of_six]
    assert [r.report.timeliness for r in rows] == [
        Timeliness.ON_TIME,
        Timeliness.ON_TIME,
        Timeliness.LATE,
    ]
    assert rows[0].report.received_at == cst("2024-02-05T10:00")


def test_gigabit_is_judged_final_only_in_december() -> None:
    state = jinan_gigabit_state()
    rows = city_history(SHIPPED, GIGABIT, JINAN, state, cst("2025-02-01T00:00"))
    assert [str(r.month) for r in rows] == [str(m) for m in months("2024-01", "2024-12")]
    assert rows[-2].progress.status is Status.AT_RISK  # November: 5 of 6, not yet final
    assert rows[-1].progress.judged.final
    assert rows[-1].progress.status is Status.MISSED  # household coverage 78 fails at 2024-12-31


# --- the province ---------------------------------------------------------------------------------

QINGDAO = CityState(
    city="qingdao",
    sites_by_day={date(2024, 1, 20): 1000, date(2024, 5, 5): 2000},
    reported_periods={ReportKind.SITES: frozenset(months("2024-01", "2024-05"))},
    latest_as_of={ReportKind.SITES: date(2024, 5, 31)},
    period_received={
        ReportKind.SITES: {m: cst(f"{m.next()}-05T10:00") for m in months("2024-01", "2024-05")}
    },
)
# month: (jinan + qingdao new, planned = 70,000 x share, status, on time, late, missing)
PROVINCE_ROWS = {
    "2024-01": (99 + 1000, 1446.67, Status.AT_RISK, 1, 0, 15),  # 1,099 / 1,446.67 = 0.760
    "2024-02": (249 + 1000, 2800.0, Status.BEHIND, 1, 1, 14),
    "2024-03": (449 + 1000, 6979.92, Status.BEHIND, 1, 0, 15),
    "2024-04": (749 + 1000, 11025.0, Status.BEHIND, 2, 0, 14),
    "2024-05": (1149 + 3000, 15204.92, Status.BEHIND, 2, 0, 14),
    "2024-06": (1649 + 3000, 19250.0, Status.BEHIND, 1, 0, 15),  # qingdao's June is missing
}


def test_the_province_history_sums_the_cities_and_counts_their_reports() -> None:
    # Qingdao's latest as_of is 2024-05-31, but the floor is 2024-06-30: D = 2024-06-30.
    states = {"jinan": jinan_sites_state(), "qingdao": QINGDAO}
    rows = province_history(SHIPPED, ROLLOUT, states, JINAN_NOW)
    assert [str(r.month) for r in rows] == list(PROVINCE_ROWS)
    for row in rows:
        new, planned, status, on_time, late, missing = PROVINCE_ROWS[str(row.month)]
        progress = row.progress
        assert isinstance(progress, SiteProgress)
        assert progress.judged_as_of == row.month.last_day
        assert progress.new_sites == new, row.month
        assert progress.target_new == 70_000
        assert round(progress.planned_new, 2) == planned, row.month
        assert progress.attainment == pytest.approx(new / planned, abs=1e-4), row.month
        assert progress.status is status, row.month
        counts = {t: row.reports[t] for t in (Timeliness.ON_TIME, Timeliness.LATE)}
        assert counts == {Timeliness.ON_TIME: on_time, Timeliness.LATE: late}, row.month
        assert row.reports[Timeliness.MISSING] == missing, row.month
        assert sum(row.reports.values()) == 16


def test_the_province_is_no_data_until_a_city_has_reported_that_month_or_earlier() -> None:
    qingdao_from_march = CityState(
        city="qingdao",
        sites_by_day={date(2024, 1, 20): 1000},
        reported_periods={ReportKind.SITES: frozenset({Period(2024, 3)})},
        latest_as_of={ReportKind.SITES: date(2024, 3, 31)},
    )
    rows = province_history(
        SHIPPED, ROLLOUT, {"qingdao": qingdao_from_march}, cst("2024-04-11T00:00")
    )
    assert [r.progress.status for r in rows] == [Status.NO_DATA, Status.NO_DATA, Status.BEHIND]
    assert [r.progress.attainment for r in rows][:2] == [None, None]


def test_the_province_meets_gigabit_only_when_every_city_meets_the_standard() -> None:
    # Jinan fails in January and March (5 of 6), passes in February; 15 cities never report.
    rows = province_history(
        SHIPPED, GIGABIT, {"jinan": jinan_gigabit_state()}, cst("2024-04-20T00:00")
    )
    standings = [r.progress for r in rows if isinstance(r.progress, ProvinceGigabitStanding)]
    assert len(standings) == 3
    counts = [(s.cities_reporting, s.cities_meeting_standard) for s in standings]
    assert counts == [(1, 0), (1, 1), (1, 0)]
    # 1 of 16 meeting is under the critical tolerance: behind
    assert [s.status for s in standings] == [Status.BEHIND] * 3
    assert standings[1].attainment == pytest.approx(1 / 16)
