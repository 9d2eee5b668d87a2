"""Reporting months, province-local days and report due dates (shared/domain/calendar.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shared.domain.calendar import (
    PROVINCE_TZ,
    Period,
    due_instant,
    end_of_day,
    latest_due_period,
    local_date,
    start_of_day,
)

CST = timezone(timedelta(hours=8))
"""Asia/Shanghai's fixed offset, written out so the expectations do not lean on the code's zone."""


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01", Period(2024, 1)),
        ("2024-06", Period(2024, 6)),
        ("2024-12", Period(2024, 12)),
        ("0999-03", Period(999, 3)),
    ],
)
def test_period_parses_year_dash_month(text: str, expected: Period) -> None:
    assert Period.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    "text",
    [
        "2024-6",
        "2024-006",
        "24-06",
        "2024/06",
        "2024-06-01",
        "2024-00",
        "2024-13",
        "",
        " 2024-06",
        "2024-06 ",
        "2024-06\n",
        "\uff12\uff10\uff12\uff14-\uff10\uff16",  # full-width digits are not YYYY-MM
    ],
)
def test_period_rejects_anything_but_year_dash_month(text: str) -> None:
    with pytest.raises(ValueError):
        Period.parse(text)


@pytest.mark.parametrize("month", [0, 13, -1])
def test_period_rejects_a_month_outside_1_to_12(month: int) -> None:
    with pytest.raises(ValueError, match=r"month must be 1\.\.12"):
        Period(2024, month)


@pytest.mark.parametrize(
    ("period", "following"),
    [
        (Period(2024, 1), Period(2024, 2)),
        (Period(2024, 6), Period(2024, 7)),
        (Period(2024, 11), Period(2024, 12)),
        (Period(2024, 12), Period(2025, 1)),
        (Period(1999, 12), Period(2000, 1)),
    ],
)
def test_next_and_previous_are_inverse_across_year_ends(period: Period, following: Period) -> None:
    assert period.next() == following
    assert following.previous() == period


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        (Period(2024, 1), date(2024, 1, 1), date(2024, 1, 31)),
        (Period(2024, 2), date(2024, 2, 1), date(2024, 2, 29)),  # 2024 is a leap year
        (Period(2025, 2), date(2025, 2, 1), date(2025, 2, 28)),
        (Period(2100, 2), date(2100, 2, 1), date(2100, 2, 28)),  # centuries are not leap years
        (Period(2000, 2), date(2000, 2, 1), date(2000, 2, 29)),  # unless divisible by 400
        (Period(2024, 4), date(2024, 4, 1), date(2024, 4, 30)),
        (Period(2024, 12), date(2024, 12, 1), date(2024, 12, 31)),
    ],
)
def test_first_and_last_day_of_a_month(period: Period, first: date, last: date) -> None:
    assert period.first_day == first
    assert period.last_day == last


def test_periods_order_chronologically() -> None:
    assert Period(2023, 12) < Period(2024, 1) < Period(2024, 2) < Period(2024, 10)
    assert sorted([Period(2025, 1), Period(2024, 12), Period(2024, 2)]) == [
        Period(2024, 2),
        Period(2024, 12),
        Period(2025, 1),
    ]


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        (date(2024, 6, 1), True),
        (date(2024, 6, 30), True),
        (date(2024, 5, 31), False),
        (date(2024, 7, 1), False),
        (date(2023, 6, 15), False),
    ],
)
def test_a_period_contains_exactly_its_own_days(day: date, inside: bool) -> None:
    assert Period(2024, 6).contains(day) is inside
    assert (Period.of(day) == Period(2024, 6)) is inside


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        (utc("2024-06-30T15:59:59"), date(2024, 6, 30)),
        (utc("2024-06-30T16:00:00"), date(2024, 7, 1)),
        (utc("2024-12-31T15:59:59.999999"), date(2024, 12, 31)),
        (utc("2024-12-31T16:00:00"), date(2025, 1, 1)),
        (utc("2024-02-28T16:00:00"), date(2024, 2, 29)),
        (cst("2024-07-01T00:00:00"), date(2024, 7, 1)),
        (datetime(2024, 7, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5))), date(2024, 7, 1)),
        (datetime(2024, 6, 30, 20, 0, tzinfo=timezone(timedelta(hours=-5))), date(2024, 7, 1)),
    ],
)
def test_local_date_is_the_day_in_shanghai(instant: datetime, day: date) -> None:
    assert local_date(instant) == day


def test_local_date_refuses_a_naive_instant() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        local_date(datetime(2024, 6, 30, 12, 0))


def test_a_province_day_runs_from_midnight_to_midnight_in_shanghai() -> None:
    assert start_of_day(date(2024, 7, 1)) == utc("2024-06-30T16:00:00")
    assert end_of_day(date(2024, 6, 30)) == utc("2024-06-30T16:00:00")
    assert end_of_day(date(2024, 12, 31)) == cst("2025-01-01T00:00:00")
    assert start_of_day(date(2024, 7, 1)).tzinfo == PROVINCE_TZ


@pytest.mark.parametrize(
    ("period", "due_day", "due"),
    [
        (Period(2024, 6), 10, cst("2024-07-11T00:00:00")),
        (Period(2024, 1), 10, cst("2024-02-11T00:00:00")),
        (Period(2024, 12), 10, cst("2025-01-11T00:00:00")),
        (Period(2024, 1), 28, cst("2024-02-29T00:00:00")),
        (Period(2024, 6), 1, cst("2024-07-02T00:00:00")),
    ],
)
def test_a_report_is_due_by_the_end_of_the_due_day_of_the_next_month(
    period: Period, due_day: int, due: datetime
) -> None:
    assert due_instant(period, due_day) == due


@pytest.mark.parametrize(
    ("now", "latest"),
    [
        # around the due instant of June's report (end of 2024-07-10 in Shanghai)
        (cst("2024-07-10T23:59:59"), Period(2024, 5)),
        (cst("2024-07-11T00:00:00"), Period(2024, 6)),
        (cst("2024-07-11T00:00:01"), Period(2024, 6)),
        (utc("2024-07-10T15:59:59"), Period(2024, 5)),
        (utc("2024-07-10T16:00:00"), Period(2024, 6)),
        # month ends: the month just ended is not due yet
        (cst("2024-06-30T23:59:59"), Period(2024, 5)),
        (cst("2024-07-01T00:00:00"), Period(2024, 5)),
        (cst("2024-02-29T23:59:59"), Period(2024, 1)),
        (cst("2024-03-01T00:00:00"), Period(2024, 1)),
        (cst("2024-03-10T23:59:59"), Period(2024, 1)),
        (cst("2024-03-11T00:00:00"), Period(2024, 2)),
        # year ends
        (cst("2024-12-31T23:59:59"), Period(2024, 11)),
        (cst("2025-01-01T00:00:00"), Period(2024, 11)),
        (utc("2024-12-31T16:00:00"), Period(2024, 11)),
        (cst("2025-01-10T23:59:59"), Period(2024, 11)),
        (cst("2025-01-11T00:00:00"), Period(2024, 12)),
        (cst("2025-02-10T23:59:59"), Period(2024, 12)),
        (cst("2025-02-11T00:00:00"), Period(2025, 1)),
    ],
)
def test_latest_due_period_is_the_last_month_whose_due_instant_has_passed(
    now: datetime, latest: Period
) -> None:
    assert latest_due_period(now, 10) == latest


@pytest.mark.parametrize(
    ("now", "latest"),
    [
        (cst("2024-03-28T23:59:59"), Period(2024, 1)),
        (cst("2024-03-29T00:00:00"), Period(2024, 2)),
    ],
)
def test_latest_due_period_follows_the_configured_due_day(now: datetime, latest: Period) -> None:
    assert latest_due_period(now, 28) == latest
