"""The day a city is judged on (shared/domain/judgement.py, contract §1.1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shared.domain.calendar import Period
from shared.domain.judgement import (
    JudgementDay,
    floor_day,
    judgement_day,
    latest_required_due,
    province_judgement_day,
)
from shared.domain.state import ReportKind
from shared.targets import load_targets

CST = timezone(timedelta(hours=8))
TARGETS = load_targets()
SITES = TARGETS.reporting_window(ReportKind.SITES)
GIGABIT = TARGETS.reporting_window(ReportKind.GIGABIT)
assert SITES is not None and GIGABIT is not None


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def test_the_shipped_reporting_windows() -> None:
    # gigabit feeds gigabit-2024 only; 5g-sites feeds 5g-2025 and 5g-2027
    assert (GIGABIT.first, GIGABIT.last) == (Period(2024, 1), Period(2024, 12))
    assert GIGABIT.closing_months == {Period(2024, 12)}
    assert (SITES.first, SITES.last) == (Period(2024, 1), Period(2027, 12))
    assert SITES.closing_months == {Period(2025, 12), Period(2027, 12)}


@pytest.mark.parametrize(
    ("now", "sites_floor", "gigabit_floor"),
    [
        pytest.param(cst("2023-11-01T00:00"), date(2023, 12, 31), date(2023, 12, 31), id="before"),
        pytest.param(
            cst("2024-02-10T23:59:59"), date(2023, 12, 31), date(2023, 12, 31), id="jan not due"
        ),
        pytest.param(cst("2024-02-11T00:00"), date(2024, 1, 31), date(2024, 1, 31), id="jan due"),
        pytest.param(
            datetime(2024, 2, 10, 16, tzinfo=UTC), date(2024, 1, 31), date(2024, 1, 31), id="utc"
        ),
        pytest.param(cst("2024-09-15T12:00"), date(2024, 8, 31), date(2024, 8, 31), id="sep"),
        pytest.param(cst("2025-01-10T12:00"), date(2024, 11, 30), date(2024, 11, 30), id="jan 10"),
        pytest.param(cst("2025-01-11T00:00"), date(2024, 12, 31), date(2024, 12, 31), id="jan 11"),
        pytest.param(cst("2025-06-20T00:00"), date(2025, 5, 31), date(2024, 12, 31), id="2025"),
        pytest.param(cst("2028-01-11T00:00"), date(2027, 12, 31), date(2024, 12, 31), id="2028"),
        pytest.param(cst("2035-07-01T00:00"), date(2027, 12, 31), date(2024, 12, 31), id="2035"),
    ],
)
def test_the_floor_is_the_last_day_of_the_latest_required_month_past_due(
    now: datetime, sites_floor: date, gigabit_floor: date
) -> None:
    assert floor_day(SITES, now, 10) == sites_floor
    assert floor_day(GIGABIT, now, 10) == gigabit_floor


def test_no_required_month_is_due_before_the_first_due_day() -> None:
    assert latest_required_due(SITES, cst("2024-02-10T12:00"), 10) is None
    assert latest_required_due(SITES, cst("2024-02-11T00:00"), 10) == Period(2024, 1)


@pytest.mark.parametrize(
    ("floor", "latest_as_of", "judged"),
    [
        pytest.param(date(2023, 12, 31), None, JudgementDay(date(2023, 12, 31), False), id="F"),
        pytest.param(
            date(2023, 12, 31), date(2024, 1, 31), JudgementDay(date(2024, 1, 31), False), id="A>F"
        ),
        pytest.param(
            date(2024, 8, 31), date(2024, 3, 31), JudgementDay(date(2024, 8, 31), False), id="F>A"
        ),
        pytest.param(
            date(2025, 11, 30), date(2025, 11, 30), JudgementDay(date(2025, 11, 30), False), id="="
        ),
        pytest.param(
            date(2025, 11, 30), date(2025, 12, 31), JudgementDay(date(2025, 12, 31), True), id="A"
        ),
        pytest.param(
            date(2026, 5, 31), date(2026, 5, 20), JudgementDay(date(2025, 12, 31), True), id="held"
        ),
    ],
)
def test_the_judgement_day_is_the_later_of_floor_and_latest_as_of_held_at_the_deadline(
    floor: date, latest_as_of: date | None, judged: JudgementDay
) -> None:
    assert judgement_day(floor, latest_as_of, date(2025, 12, 31)) == judged


def test_the_province_is_judged_on_the_day_every_reporting_city_covers() -> None:
    floor = date(2024, 4, 30)
    as_ofs = [date(2024, 6, 30), date(2024, 5, 31), None, date(2024, 6, 15)]
    judged = province_judgement_day(floor, as_ofs, date(2025, 12, 31))
    assert judged == JudgementDay(date(2024, 5, 31), False)
    # no city has reported: the floor; every city behind the floor: the floor
    assert province_judgement_day(floor, [None, None], date(2025, 12, 31)).day == floor
    assert province_judgement_day(floor, [date(2024, 3, 31)], date(2025, 12, 31)).day == floor
