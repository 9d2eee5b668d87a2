"""The province's sites read through its cities' running totals answer as the merged series."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.daily_counts import DailyCounts, SummedCounts
from shared.domain.progress import province_sites_by_day
from shared.domain.state import CityState

FIRST = date(2024, 1, 1)
days = st.integers(min_value=0, max_value=60).map(lambda n: FIRST + timedelta(days=n))
city_days = st.dictionaries(days, st.integers(min_value=1, max_value=5), max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(city_days, max_size=6),
    days,
    days,
    st.integers(min_value=-3, max_value=80),
)
def test_summed_counts_answer_every_question_as_the_merged_series_does(
    cities: list[dict[date, int]], first: date, last: date, total: int
) -> None:
    states = [CityState(city=f"c{i}", sites_by_day=by_day) for i, by_day in enumerate(cities)]
    merged = DailyCounts(province_sites_by_day(states))
    summed = SummedCounts([s.site_counts for s in states])
    assert summed.through(last) == merged.through(last)
    assert summed.between(first, last) == merged.between(first, last)
    assert summed.day_reaching(first, total) == merged.day_reaching(first, total)


def test_the_day_a_total_is_reached_is_a_day_some_city_commissioned_sites() -> None:
    states = [
        CityState(city="a", sites_by_day={FIRST: 2, FIRST + timedelta(days=9): 1}),
        CityState(city="b", sites_by_day={FIRST + timedelta(days=4): 3}),
        CityState(city="c"),
    ]
    summed = SummedCounts([s.site_counts for s in states])
    assert summed.between(FIRST, FIRST + timedelta(days=3)) == 2
    assert summed.day_reaching(FIRST, 2) == FIRST
    assert summed.day_reaching(FIRST, 3) == FIRST + timedelta(days=4)
    assert summed.day_reaching(FIRST, 6) == FIRST + timedelta(days=9)
    assert summed.day_reaching(FIRST + timedelta(days=1), 4) == FIRST + timedelta(days=9)
    assert summed.day_reaching(FIRST, 7) is None
    assert SummedCounts([states[2].site_counts]).day_reaching(FIRST, 0) is None
