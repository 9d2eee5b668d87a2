"""Which alerts are active for given targets, state and now (shared/domain/alerts.py, contract §4).

Most tests use two small cities with round numbers, so that plan-to-date and the tolerance
boundaries are exact: each city needs 1,000 (Jinan) or 2,000 (Qingdao) new sites for both the
5g-2025 quota and the 5g-2027 density of 30 per 10,000 residents.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shared.domain.alerts import Alert, evaluate_alerts
from shared.domain.calendar import Period
from shared.domain.state import CityState, IndicatorReading, ReportKind
from shared.domain.targets import City, Targets
from shared.targets import load_targets

CST = timezone(timedelta(hours=8))


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


SHIPPED = load_targets()
JINAN = City(
    id="jinan",
    code="370100",
    name="济南市",
    name_en="Jinan",
    population=1_000_000,
    baseline_sites=2_000,
    quotas={"5g-2025": 1_000},
)
QINGDAO = City(
    id="qingdao",
    code="370200",
    name="青岛市",
    name_en="Qingdao",
    population=2_000_000,
    baseline_sites=4_000,
    quotas={"5g-2025": 2_000},
)
SMALL = dataclasses.replace(SHIPPED, cities={"jinan": JINAN, "qingdao": QINGDAO})

MID_5G_2025 = cst("2024-12-31T12:00:00")  # exactly half of 5g-2025: 500 of Jinan's 1,000 planned
MID_5G_2027 = cst("2025-12-31T12:00:00")  # exactly half of 5g-2027: 500 of Jinan's 1,000 planned
LATE_5G_2027 = cst("2027-12-31T12:00:00")  # 999.66 of Jinan's 1,000 planned


def evaluate(states: dict[str, CityState], now: datetime, targets: Targets = SMALL) -> list[Alert]:
    return evaluate_alerts(targets, states, now)


def matching(alerts: list[Alert], **labels: str) -> list[Alert]:
    return [a for a in alerts if all(a.labels.get(k) == v for k, v in labels.items())]


def severities(alerts: list[Alert], **labels: str) -> list[str]:
    return [a.severity for a in matching(alerts, **labels)]


def names(alerts: list[Alert], **labels: str) -> set[str]:
    return {a.name for a in matching(alerts, **labels)}


def programme_alerts(alerts: list[Alert], program: str, city: str = "jinan") -> set[str]:
    """The names of a city's alerts on a programme, leaving out its overdue reports."""
    return names(alerts, program=program, city=city) - {"ReportOverdue"}


def jinan_sites(sites_by_day: dict[date, int]) -> dict[str, CityState]:
    return {"jinan": CityState(city="jinan", sites_by_day=sites_by_day)}


# --- FiveGBehindPlan -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new_sites", "expected"),
    [
        pytest.param(500, [], id="on plan"),
        pytest.param(450, [], id="attainment exactly 0.90"),
        pytest.param(449, ["warning"], id="just under 0.90"),
        pytest.param(375, ["warning"], id="attainment exactly 0.75"),
        pytest.param(374, ["critical"], id="just under 0.75"),
        pytest.param(0, ["critical"], id="nothing built"),
        pytest.param(1_000, [], id="target met early"),
    ],
)
def test_rollout_behind_plan_fires_once_with_the_worse_tolerance_broken(
    new_sites: int, expected: list[str]
) -> None:
    alerts = evaluate(jinan_sites({date(2024, 6, 1): new_sites}), MID_5G_2025)
    assert (
        severities(alerts, alertname="FiveGBehindPlan", program="5g-2025", city="jinan") == expected
    )


@pytest.mark.parametrize(
    ("new_sites", "now", "expected"),
    [
        pytest.param(250, MID_5G_2027, [], id="level attainment exactly 0.90"),
        pytest.param(249, MID_5G_2027, ["warning"], id="level just under 0.90"),
        pytest.param(0, MID_5G_2027, ["warning"], id="the baseline keeps it above 0.75"),
        pytest.param(250, LATE_5G_2027, ["warning"], id="level just over 0.75"),
        pytest.param(249, LATE_5G_2027, ["critical"], id="level just under 0.75"),
    ],
)
def test_density_behind_plan_is_judged_on_the_level_of_sites_in_service(
    new_sites: int, now: datetime, expected: list[str]
) -> None:
    alerts = evaluate(jinan_sites({date(2025, 6, 1): new_sites}), now)
    assert (
        severities(alerts, alertname="FiveGBehindPlan", program="5g-2027", city="jinan") == expected
    )


def test_behind_plan_carries_exactly_its_labels() -> None:
    alerts = evaluate(jinan_sites({date(2024, 6, 1): 449}), MID_5G_2025)
    [alert] = matching(alerts, alertname="FiveGBehindPlan", program="5g-2025", city="jinan")
    assert alert.labels == {
        "alertname": "FiveGBehindPlan",
        "severity": "warning",
        "program": "5g-2025",
        "city": "jinan",
    }


def test_behind_plan_annotations_give_actual_expected_shortfall_target_and_projection() -> None:
    alerts = evaluate(jinan_sites({date(2024, 6, 1): 449}), MID_5G_2025)
    [alert] = matching(alerts, alertname="FiveGBehindPlan", program="5g-2025", city="jinan")
    assert alert.annotations == {
        "summary": "Jinan is behind plan on 5g-2025 (attainment 0.898)",
        "description": "actual 449 new sites since 2024-01-01; expected 500 by now; "
        "shortfall 51; attainment 0.898 (warning below 0.9, critical below 0.75); "
        "target 1,000 new sites by the end of 2025-12-31 (Asia/Shanghai), 551 to go; "
        "projected completion never at the current rate "
        "(trailing 90-day rate 0.00 sites/day).",
    }


def test_density_annotations_give_sites_in_service_and_sites_per_10k() -> None:
    alerts = evaluate(jinan_sites({date(2025, 6, 1): 249}), MID_5G_2027)
    [alert] = matching(alerts, alertname="FiveGBehindPlan", program="5g-2027", city="jinan")
    # 2,249 / 2,500 = 0.8996: truncated, so it never reads as the 0.90 it misses
    assert alert.annotations["summary"] == "Jinan is behind plan on 5g-2027 (attainment 0.899)"
    description = alert.annotations["description"]
    assert "actual 2,249 sites in service (22.49 per 10k), 249 new since 2024-01-01" in description
    assert "expected 2,500 by now (25.00 per 10k); shortfall 251;" in description
    assert "target 3,000 sites (30.00 per 10k) by the end of 2027-12-31" in description


def test_fractional_planned_sites_show_one_decimal() -> None:
    alerts = evaluate(jinan_sites({}), cst("2024-01-02T00:00:00"))  # 1,000 x 1/731 planned
    [alert] = matching(alerts, alertname="FiveGBehindPlan", program="5g-2025", city="jinan")
    assert "expected 1.4 by now; shortfall 1.4;" in alert.annotations["description"]


# --- the deadline: behind plan before it, target missed after -----------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(
            cst("2025-12-31T23:59:59"),
            {"FiveGBehindPlan", "FiveGProjectedMiss"},
            id="last second of the deadline day",
        ),
        pytest.param(cst("2026-01-01T00:00:00"), {"FiveGTargetMissed"}, id="deadline passed"),
        pytest.param(utc("2025-12-31T15:59:59"), {"FiveGBehindPlan", "FiveGProjectedMiss"}),
        pytest.param(utc("2025-12-31T16:00:00"), {"FiveGTargetMissed"}, id="passed, utc clock"),
        pytest.param(cst("2027-06-01T00:00:00"), {"FiveGTargetMissed"}, id="long after"),
    ],
)
def test_a_short_city_is_behind_plan_until_the_deadline_ends_and_has_missed_it_after(
    now: datetime, expected: set[str]
) -> None:
    alerts = evaluate(jinan_sites({date(2024, 6, 1): 600}), now)
    assert programme_alerts(alerts, "5g-2025") == expected


def test_target_missed_is_critical_and_says_how_many_sites_are_short() -> None:
    alerts = evaluate(jinan_sites({date(2024, 6, 1): 600}), cst("2026-01-01T00:00:00"))
    [alert] = matching(alerts, alertname="FiveGTargetMissed", city="jinan")
    assert alert.labels == {
        "alertname": "FiveGTargetMissed",
        "severity": "critical",
        "program": "5g-2025",
        "city": "jinan",
    }
    assert alert.annotations["summary"] == (
        "Jinan missed 5g-2025: 400 sites short of the target at the deadline 2025-12-31"
    )


@pytest.mark.parametrize(
    "now", [cst("2025-12-31T23:59:59"), cst("2026-01-01T00:00:00"), cst("2027-06-01T00:00:00")]
)
def test_a_city_that_met_its_target_raises_no_site_alert_for_it(now: datetime) -> None:
    alerts = evaluate(jinan_sites({date(2024, 6, 1): 1_000}), now)
    assert programme_alerts(alerts, "5g-2025") == set()


def test_sites_commissioned_after_the_deadline_do_not_undo_a_miss() -> None:
    state = jinan_sites({date(2024, 6, 1): 600, date(2026, 1, 1): 400})
    alerts = evaluate(state, cst("2026-02-01T00:00:00"))
    assert programme_alerts(alerts, "5g-2025") == {"FiveGTargetMissed"}


# --- FiveGProjectedMiss --------------------------------------------------------------------------


# 900 sites commissioned today: 10 a day over the trailing 90 days, 100 to go, 10 more days.
@pytest.mark.parametrize(
    ("today", "fires"),
    [
        pytest.param(date(2025, 12, 21), False, id="projected exactly on the deadline"),
        pytest.param(date(2025, 12, 22), True, id="projected one day after the deadline"),
    ],
)
def test_projected_miss_fires_only_when_the_projection_lands_after_the_deadline(
    today: date, fires: bool
) -> None:
    alerts = evaluate(jinan_sites({today: 900}), cst(f"{today}T12:00:00"))
    found = matching(alerts, alertname="FiveGProjectedMiss", program="5g-2025", city="jinan")
    assert [a.severity for a in found] == (["warning"] if fires else [])


def test_projected_miss_names_the_projected_day() -> None:
    alerts = evaluate(jinan_sites({date(2025, 12, 22): 900}), cst("2025-12-22T12:00:00"))
    [alert] = matching(alerts, alertname="FiveGProjectedMiss", program="5g-2025", city="jinan")
    assert alert.annotations["summary"] == (
        "Jinan is projected to miss 5g-2025: done 2026-01-01, after the deadline 2025-12-31"
    )
    assert (
        "projected completion 2026-01-01 (trailing 90-day rate 10.00 sites/day)"
        in (alert.annotations["description"])
    )


def test_no_site_in_the_trailing_90_days_is_a_projected_miss_even_when_on_plan() -> None:
    alerts = evaluate(jinan_sites({date(2024, 6, 1): 500}), MID_5G_2025)
    assert matching(alerts, alertname="FiveGBehindPlan", program="5g-2025", city="jinan") == []
    [alert] = matching(alerts, alertname="FiveGProjectedMiss", program="5g-2025", city="jinan")
    assert alert.labels == {
        "alertname": "FiveGProjectedMiss",
        "severity": "warning",
        "program": "5g-2025",
        "city": "jinan",
    }
    assert alert.annotations["summary"] == (
        "Jinan is projected to miss 5g-2025: never done at the current rate (deadline 2025-12-31)"
    )
    assert "projected completion never at the current rate" in alert.annotations["description"]


# --- FiveGProvinceBehindPlan ---------------------------------------------------------------------


# Half-way the province (Jinan + Qingdao) should have 1,500 new sites.
@pytest.mark.parametrize(
    ("new_sites", "expected"),
    [
        pytest.param(1_350, [], id="attainment exactly 0.90"),
        pytest.param(1_349, ["warning"], id="just under 0.90"),
        pytest.param(1_125, ["warning"], id="attainment exactly 0.75"),
        pytest.param(1_124, ["critical"], id="just under 0.75"),
    ],
)
def test_province_behind_plan_sums_the_cities_against_the_same_tolerances(
    new_sites: int, expected: list[str]
) -> None:
    states = {
        "jinan": CityState("jinan", {date(2024, 6, 1): 1_000}),
        "qingdao": CityState("qingdao", {date(2024, 6, 1): new_sites - 1_000}),
    }
    alerts = evaluate(states, MID_5G_2025)
    province = matching(alerts, alertname="FiveGProvinceBehindPlan", program="5g-2025")
    assert [a.severity for a in province] == expected


def test_province_alert_has_no_city_label() -> None:
    alerts = evaluate({}, MID_5G_2025)
    [alert] = matching(alerts, alertname="FiveGProvinceBehindPlan", program="5g-2025")
    assert alert.labels == {
        "alertname": "FiveGProvinceBehindPlan",
        "severity": "critical",
        "program": "5g-2025",
    }
    assert alert.annotations["summary"] == (
        "The province is behind plan on 5g-2025 (attainment 0.000)"
    )
    assert "expected 1,500 by now" in alert.annotations["description"]


def test_province_is_not_behind_plan_once_the_deadline_has_passed() -> None:
    alerts = evaluate({}, cst("2026-01-01T00:00:00"))
    assert matching(alerts, alertname="FiveGProvinceBehindPlan", program="5g-2025") == []
    assert len(matching(alerts, alertname="FiveGTargetMissed", program="5g-2025")) == 2


def test_a_city_outside_the_targets_neither_alerts_nor_counts_for_the_province() -> None:
    states = {"laiwu": CityState("laiwu", {date(2024, 6, 1): 3_000})}
    alerts = evaluate(states, MID_5G_2025)
    assert matching(alerts, city="laiwu") == []
    assert severities(alerts, alertname="FiveGProvinceBehindPlan", program="5g-2025") == [
        "critical"
    ]


def test_a_city_without_state_is_judged_as_having_reported_nothing() -> None:
    alerts = evaluate({}, cst("2024-07-15T12:00:00"))
    assert names(alerts, city="qingdao") == {
        "FiveGBehindPlan",
        "FiveGProjectedMiss",
        "ReportOverdue",
    }


def test_nothing_fires_before_the_programmes_and_the_reporting_calendar_start() -> None:
    assert evaluate({}, cst("2023-12-31T23:59:59")) == []


# --- gigabit -------------------------------------------------------------------------------------

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


def jinan_indicators(values: dict[str, float]) -> dict[str, CityState]:
    readings = {
        key: IndicatorReading(value=value, as_of=date(2024, 11, 30), report_id="r-11")
        for key, value in values.items()
    }
    return {"jinan": CityState(city="jinan", indicators=readings)}


def gigabit_alerts(values: dict[str, float], now: datetime) -> list[Alert]:
    alerts = evaluate(jinan_indicators(values), now)
    return [
        a
        for a in matching(alerts, program="gigabit-2024", city="jinan")
        if a.name.startswith("Gigabit")
    ]


@pytest.mark.parametrize(
    ("key", "value", "fires"),
    [
        pytest.param("household_gigabit_coverage_pct", 80, True, id="'>' fails at the threshold"),
        pytest.param("household_gigabit_coverage_pct", 80.01, False, id="'>' passes above it"),
        pytest.param("pon_10g_port_share_pct", 25, False, id="'>=' passes at the threshold"),
        pytest.param("pon_10g_port_share_pct", 24.99, True, id="'>=' fails below it"),
        pytest.param("bs_5g_per_10k", 12, True, id="reported density at the threshold"),
        pytest.param("bb_1000m_users", 0, False, id="tracked only: never below"),
    ],
)
def test_indicator_below_threshold_follows_its_rule(key: str, value: float, fires: bool) -> None:
    alerts = gigabit_alerts(PASSING_VALUES | {key: value}, BEFORE_GIGABIT_DEADLINE)
    expected = (
        [
            {
                "alertname": "GigabitIndicatorBelowThreshold",
                "severity": "warning",
                "program": "gigabit-2024",
                "city": "jinan",
                "indicator": key,
            }
        ]
        if fires
        else []
    )
    assert [a.labels for a in alerts] == expected


@pytest.mark.parametrize(
    ("values", "now", "expected"),
    [
        pytest.param(PASSING_VALUES, BEFORE_GIGABIT_DEADLINE, [], id="all pass"),
        pytest.param(PASSING_VALUES, AFTER_GIGABIT_DEADLINE, [], id="all pass, after"),
        pytest.param(
            PASSING_VALUES | {"bs_5g_per_10k": 12},
            BEFORE_GIGABIT_DEADLINE,
            [("GigabitIndicatorBelowThreshold", "warning")],
            id="failing on the last second of 2024",
        ),
        pytest.param(
            PASSING_VALUES | {"bs_5g_per_10k": 12},
            AFTER_GIGABIT_DEADLINE,
            [("GigabitIndicatorBelowThreshold", "critical"), ("GigabitStandardNotMet", "critical")],
            id="failing once 2024 has ended",
        ),
        pytest.param(
            {k: v for k, v in PASSING_VALUES.items() if k != "pon_10g_port_share_pct"},
            BEFORE_GIGABIT_DEADLINE,
            [],
            id="a missing value is not below its threshold",
        ),
        pytest.param(
            {k: v for k, v in PASSING_VALUES.items() if k != "pon_10g_port_share_pct"},
            AFTER_GIGABIT_DEADLINE,
            [("GigabitStandardNotMet", "critical")],
            id="but it fails the standard after the deadline",
        ),
        pytest.param(
            {k: v for k, v in PASSING_VALUES.items() if k != "bb_1000m_users"},
            AFTER_GIGABIT_DEADLINE,
            [],
            id="a missing tracked value fails nothing",
        ),
    ],
)
def test_gigabit_warns_before_the_deadline_and_is_critical_after(
    values: dict[str, float], now: datetime, expected: list[tuple[str, str]]
) -> None:
    alerts = gigabit_alerts(values, now)
    assert sorted((a.name, a.severity) for a in alerts) == expected


def test_standard_not_met_has_no_indicator_label_and_lists_what_fails() -> None:
    values = {k: v for k, v in PASSING_VALUES.items() if k != "pon_10g_port_share_pct"}
    alerts = gigabit_alerts(values | {"bs_5g_per_10k": 11.5}, AFTER_GIGABIT_DEADLINE)
    [alert] = matching(alerts, alertname="GigabitStandardNotMet")
    assert alert.labels == {
        "alertname": "GigabitStandardNotMet",
        "severity": "critical",
        "program": "gigabit-2024",
        "city": "jinan",
    }
    assert alert.annotations["summary"] == (
        "Jinan did not meet gigabit-2024 by 2024-12-31: 2 of 6 indicators fail"
    )
    description = alert.annotations["description"]
    assert description.startswith("4 of 6 indicators with a threshold pass")
    assert "pon_10g_port_share_pct not reported (needs >= 25%, threshold not verified" in (
        description
    )
    assert "bs_5g_per_10k 11.5 per 10k (needs > 12 per 10k, threshold verified)" in description


@pytest.mark.parametrize(
    ("key", "value", "summary", "in_description"),
    [
        pytest.param(
            "bs_5g_per_10k",
            12,
            "Jinan: bs_5g_per_10k is 12 per 10k on gigabit-2024, needs > 12 per 10k",
            "latest value 12 per 10k as of 2024-11-30 (report r-11); rule > 12 per 10k, "
            "threshold verified.",
            id="verified threshold",
        ),
        pytest.param(
            "user_5g_share_pct",
            26.125,
            "Jinan: user_5g_share_pct is 26.125% on gigabit-2024, needs >= 27%",
            "latest value 26.125% as of 2024-11-30 (report r-11); rule >= 27%, "
            "threshold not verified: loosest value that passed MIIT's 2022 round.",
            id="unverified threshold",
        ),
    ],
)
def test_indicator_annotations_give_value_rule_threshold_and_whether_it_is_verified(
    key: str, value: float, summary: str, in_description: str
) -> None:
    [alert] = gigabit_alerts(PASSING_VALUES | {key: value}, BEFORE_GIGABIT_DEADLINE)
    assert alert.annotations["summary"] == summary
    assert in_description in alert.annotations["description"]
    assert (
        "The deadline is the end of 2024-12-31 (Asia/Shanghai)."
        in (alert.annotations["description"])
    )


# --- ReportOverdue -------------------------------------------------------------------------------

MAY, JUNE = Period(2024, 5), Period(2024, 6)


def jinan_reported(periods: set[Period], last: datetime | None = None) -> dict[str, CityState]:
    return {
        "jinan": CityState(
            city="jinan",
            reported_periods={kind: frozenset(periods) for kind in ReportKind},
            last_received={kind: last for kind in ReportKind} if last else {},
        )
    }


def overdue(states: dict[str, CityState], now: datetime) -> list[dict[str, str]]:
    alerts = evaluate(states, now)
    return [a.labels for a in matching(alerts, alertname="ReportOverdue", city="jinan")]


@pytest.mark.parametrize(
    ("reported", "now", "overdue_kinds"),
    [
        pytest.param({MAY}, cst("2024-07-10T23:59:59"), [], id="june report not yet overdue"),
        pytest.param(
            {MAY}, cst("2024-07-11T00:00:00"), ["5g-sites", "gigabit"], id="june report overdue"
        ),
        pytest.param({MAY}, utc("2024-07-10T15:59:59"), [], id="not yet, utc clock"),
        pytest.param({MAY}, utc("2024-07-10T16:00:00"), ["5g-sites", "gigabit"], id="utc clock"),
        pytest.param({MAY, JUNE}, cst("2024-07-20T00:00:00"), [], id="a late report clears it"),
        pytest.param({JUNE}, cst("2024-07-20T00:00:00"), [], id="only the latest month counts"),
    ],
)
def test_report_overdue_from_the_day_after_the_due_day(
    reported: set[Period], now: datetime, overdue_kinds: list[str]
) -> None:
    labels = overdue(jinan_reported(reported), now)
    assert sorted(label["kind"] for label in labels) == overdue_kinds
    assert all(label["severity"] == "warning" for label in labels)


@pytest.mark.parametrize(
    ("now", "sites_program"),
    [
        pytest.param(cst("2024-07-11T00:00:00"), "5g-2025", id="both running: the first"),
        pytest.param(cst("2025-12-31T23:59:59"), "5g-2025", id="last second of 5g-2025"),
        pytest.param(cst("2026-01-11T00:00:00"), "5g-2027", id="5g-2025 over: the next"),
        pytest.param(cst("2028-02-11T00:00:00"), "5g-2027", id="all over: the last"),
    ],
)
def test_overdue_reports_name_the_programme_they_feed(now: datetime, sites_program: str) -> None:
    labels = overdue({}, now)
    assert sorted(labels, key=lambda label: label["kind"]) == [
        {
            "alertname": "ReportOverdue",
            "severity": "warning",
            "program": sites_program,
            "city": "jinan",
            "kind": "5g-sites",
        },
        {
            "alertname": "ReportOverdue",
            "severity": "warning",
            "program": "gigabit-2024",
            "city": "jinan",
            "kind": "gigabit",
        },
    ]


@pytest.mark.parametrize(
    ("last", "tail"),
    [
        pytest.param(None, "no 5g-sites report received yet.", id="never reported"),
        pytest.param(
            utc("2024-06-09T02:00:00"),
            "last 5g-sites report received 2024-06-09T10:00:00+08:00.",
            id="reported before",
        ),
    ],
)
def test_overdue_annotations_give_the_missing_month_and_its_due_date(
    last: datetime | None, tail: str
) -> None:
    alerts = evaluate(jinan_reported({MAY}, last), cst("2024-07-11T00:00:00"))
    [alert] = matching(alerts, alertname="ReportOverdue", city="jinan", kind="5g-sites")
    assert alert.annotations == {
        "summary": "Jinan's 5g-sites report for 2024-06 is overdue (due 2024-07-10)",
        "description": "No 5g-sites report for 2024-06, due by the end of 2024-07-10 "
        f"(Asia/Shanghai); {tail}",
    }


# --- identity and determinism --------------------------------------------------------------------


def test_fingerprint_is_the_label_set_whatever_the_annotations_or_label_order() -> None:
    labels = {"alertname": "FiveGBehindPlan", "severity": "warning", "program": "5g-2025"}
    one = Alert(labels=labels | {"city": "jinan"}, annotations={"summary": "a"})
    other = Alert(labels={"city": "jinan"} | labels, annotations={"summary": "b"})
    escalated = Alert(labels=one.labels | {"severity": "critical"})
    assert one.fingerprint == other.fingerprint == "87f0b3e152e941e5"
    assert escalated.fingerprint != one.fingerprint


def test_fingerprint_is_stable_while_the_numbers_in_the_annotations_move() -> None:
    state = jinan_sites({date(2024, 6, 1): 400})
    first = evaluate(state, MID_5G_2025)
    later = evaluate(state, MID_5G_2025 + timedelta(days=1))
    [before] = matching(first, alertname="FiveGBehindPlan", program="5g-2025", city="jinan")
    [after] = matching(later, alertname="FiveGBehindPlan", program="5g-2025", city="jinan")
    assert before.fingerprint == after.fingerprint
    assert before.annotations != after.annotations


def test_every_alert_has_a_summary_and_a_description() -> None:
    alerts = evaluate({}, AFTER_GIGABIT_DEADLINE)
    assert {a.name for a in alerts} >= {
        "FiveGBehindPlan",
        "FiveGProjectedMiss",
        "FiveGProvinceBehindPlan",
        "GigabitStandardNotMet",
        "ReportOverdue",
    }
    assert all(set(a.annotations) == {"summary", "description"} for a in alerts)
    assert all("\n" not in a.annotations["summary"] for a in alerts)


def test_evaluation_is_deterministic_and_sorted_by_fingerprint() -> None:
    states = {
        city_id: CityState(
            city=city_id,
            sites_by_day={date(2024, 3, 1) + timedelta(days=i): 7 * i for i in range(120)},
            indicators={
                "bs_5g_per_10k": IndicatorReading(11.9, date(2024, 6, 30), f"r-{city_id}"),
            },
            reported_periods={ReportKind.SITES: frozenset({MAY})},
        )
        for city_id in SHIPPED.cities
    }
    now = cst("2024-07-15T12:00:00")
    first = evaluate_alerts(SHIPPED, states, now)
    again = evaluate_alerts(SHIPPED, dict(reversed(states.items())), now)
    assert first == again
    fingerprints = [a.fingerprint for a in first]
    assert fingerprints == sorted(fingerprints)
    assert len(set(fingerprints)) == len(fingerprints)
