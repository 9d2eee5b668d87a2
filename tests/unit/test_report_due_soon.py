"""ReportDueSoon: an info reminder N days before the due day while the month's report is missing,
for the kinds the month requires."""

from __future__ import annotations

from datetime import datetime

import pytest

from shared.domain.alerts import Alert, evaluate_alerts
from shared.domain.calendar import PROVINCE_TZ, Period
from shared.domain.due_soon import due_soon_alerts
from shared.domain.state import CityState, ReportKind
from shared.targets import load_targets
from shared.wire_alerts import RequestedFilters

SHIPPED = load_targets()
CITIES = len(SHIPPED.cities)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PROVINCE_TZ)


def reminders(now: str, days: int = 3, states: dict[str, CityState] | None = None) -> list[Alert]:
    return due_soon_alerts(SHIPPED, states or {}, at(now), days)


def kinds(alerts: list[Alert]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for alert in alerts:
        counted[alert.labels["kind"]] = counted.get(alert.labels["kind"], 0) + 1
    return counted


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2024-07-06T23:59:59", {}),  # 3 days before the 10th starts on the 7th
        ("2024-07-07T00:00:00", {"gigabit": CITIES, "5g-sites": CITIES}),
        ("2024-07-10T23:59:59", {"gigabit": CITIES, "5g-sites": CITIES}),
        ("2024-07-11T00:00:00", {}),  # overdue now: ReportOverdue's turn
        ("2024-07-25T00:00:00", {}),
        ("2024-01-08T12:00:00", {}),  # 2023-12 is required of no kind
        ("2024-02-08T12:00:00", {"gigabit": CITIES, "5g-sites": CITIES}),  # the first month
        ("2025-01-08T12:00:00", {"gigabit": CITIES, "5g-sites": CITIES}),  # gigabit's last
        ("2025-02-08T12:00:00", {"5g-sites": CITIES}),  # gigabit-2024 is closed
        ("2028-01-08T12:00:00", {"5g-sites": CITIES}),  # 2027-12 closes 5g-2027
        ("2028-02-08T12:00:00", {}),
    ],
)
def test_a_reminder_per_city_and_required_kind_from_n_days_before_the_due_day(
    now: str, expected: dict[str, int]
) -> None:
    assert kinds(reminders(now)) == expected


def test_none_when_off() -> None:
    assert reminders("2024-07-08T12:00:00", days=0) == []
    assert not [
        a
        for a in evaluate_alerts(SHIPPED, {}, at("2024-07-08T12:00:00"))
        if a.name == "ReportDueSoon"
    ]


def test_a_city_that_has_reported_the_month_is_not_reminded_of_that_kind() -> None:
    states = {
        "jinan": CityState(
            "jinan", reported_periods={ReportKind.SITES: frozenset({Period(2024, 6)})}
        ),
        "qingdao": CityState(  # an older month does not count
            "qingdao", reported_periods={ReportKind.SITES: frozenset({Period(2024, 5)})}
        ),
    }
    found = reminders("2024-07-09T08:00:00", states=states)
    assert {(a.labels["city"], a.labels["kind"]) for a in found if a.labels["city"] in states} == {
        ("jinan", "gigabit"),
        ("qingdao", "gigabit"),
        ("qingdao", "5g-sites"),
    }


def test_a_long_lead_never_reminds_of_a_month_that_has_not_ended() -> None:
    assert reminders("2024-06-30T23:59:59", days=27) == []
    assert kinds(reminders("2024-07-01T00:00:00", days=27)) == {
        "gigabit": CITIES,
        "5g-sites": CITIES,
    }


def test_the_reminder_is_info_with_the_labels_of_report_overdue_and_steady_words() -> None:
    early = {a.labels["city"]: a for a in reminders("2024-07-07T00:00:00")}
    late = {a.labels["city"]: a for a in reminders("2024-07-10T23:00:00")}
    jinan = [a for a in reminders("2024-07-07T00:00:00") if a.labels["city"] == "jinan"]
    assert {a.labels["kind"] for a in jinan} == {"gigabit", "5g-sites"}
    [sites] = [a for a in jinan if a.labels["kind"] == "5g-sites"]
    assert sites.labels == {
        "alertname": "ReportDueSoon",
        "severity": "info",
        "city": "jinan",
        "kind": "5g-sites",
    }
    assert sites.annotations["summary"] == (
        "Jinan: the 5g-sites report for 2024-06 is due by the end of 2024-07-10 and has not arrived"
    )
    assert early["jinan"].annotations == late["jinan"].annotations
    assert early["jinan"].fingerprint == late["jinan"].fingerprint


def test_evaluate_alerts_adds_the_reminders_when_asked_and_keeps_its_order() -> None:
    now = at("2024-07-08T12:00:00")
    without = evaluate_alerts(SHIPPED, {}, now)
    with_reminders = evaluate_alerts(SHIPPED, {}, now, due_soon_days=3)
    added = [a for a in with_reminders if a not in without]
    assert {a.name for a in added} == {"ReportDueSoon"} and len(added) == 2 * CITIES
    assert [a.fingerprint for a in with_reminders] == sorted(a.fingerprint for a in with_reminders)


def test_the_day_it_becomes_overdue_the_reminder_gives_way_to_report_overdue() -> None:
    alerts = evaluate_alerts(SHIPPED, {}, at("2024-07-11T00:00:00"), due_soon_days=3)
    names = {a.name for a in alerts if a.labels.get("city") == "jinan"}
    assert "ReportOverdue" in names and "ReportDueSoon" not in names


@pytest.mark.parametrize(
    ("severities", "matches"), [(["info"], True), (["warning", "critical"], False), (None, True)]
)
def test_subscriptions_filter_the_info_severity(
    severities: list[str] | None, matches: bool
) -> None:
    filters = RequestedFilters.model_validate({"severities": severities, "cities": ["jinan"]})
    [reminder] = [
        a
        for a in reminders("2024-07-08T00:00:00")
        if a.labels["city"] == "jinan" and a.labels["kind"] == "gigabit"
    ]
    assert filters.matches(reminder.labels) is matches
