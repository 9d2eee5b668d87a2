"""Properties of the judgement (contract §1.1) for any history and any moment in 2023-2035.

1. Progress and alert evaluation never raise, whatever the sites, reports and rates: attainment
   is finite or absent, a projection is a date within the calendar or one of its words.
2. A city whose cumulative new sites at every month end are at least the plan at that month end
   (for every site programme it has) raises no FiveGBehindPlan and no FiveGProjectedMiss, judged
   at any moment, with monthly reports (as of each month's last day) sent whenever they were.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.alerts import evaluate_alerts
from shared.domain.calendar import Period
from shared.domain.progress import city_progress, province_site_progress
from shared.domain.state import CityState, IndicatorReading, ReportKind
from shared.targets import load_targets
from tests.support.histories import months, plan_at_month_end

SHIPPED = load_targets()
ONE_CITY = dataclasses.replace(SHIPPED, cities={"jinan": SHIPPED.cities["jinan"]})
JINAN = SHIPPED.cities["jinan"]
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
MOMENTS = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2035, 12, 31, 23, 59), timezones=st.just(UTC)
)
DAYS = st.dates(min_value=date(2019, 1, 1), max_value=date(2035, 12, 31))
MONTHS = st.builds(Period, st.integers(2019, 2035), st.integers(1, 12))
PROGRAMME_MONTHS = months(Period(2024, 1), Period(2027, 12))
PLAN = {month: plan_at_month_end(ONE_CITY, JINAN, month) for month in PROGRAMME_MONTHS}
"""Jinan's sites needed by each month end to be on both site programmes' plans."""


@st.composite
def any_state(draw: st.DrawFn) -> CityState:
    sites = draw(st.dictionaries(DAYS, st.integers(0, 10**9), max_size=40))
    reported = {
        kind: frozenset(draw(st.lists(MONTHS, max_size=30)))
        for kind in ReportKind
        if draw(st.booleans())
    }
    history = tuple(
        (key, IndicatorReading(value, as_of, "r"))
        for key, value, as_of in draw(
            st.lists(
                st.tuples(
                    st.sampled_from([i.key for i in SHIPPED.gigabit.indicators]),
                    st.floats(0, 1e6, allow_nan=False),
                    DAYS,
                ),
                max_size=20,
            )
        )
    )
    latest = {kind: draw(DAYS) for kind in reported if draw(st.booleans())}
    return CityState(
        city="jinan",
        sites_by_day={d: n for d, n in sites.items() if n > 0},
        indicators=dict(history),
        indicator_history=history,
        reported_periods=reported,
        latest_as_of=latest,
    )


@PROPERTY_SETTINGS
@given(state=any_state(), now=MOMENTS)
def test_progress_and_alerts_never_raise_and_attainment_is_finite(
    state: CityState, now: datetime
) -> None:
    progress = city_progress(SHIPPED, JINAN, state, now)
    for site in progress.sites:
        assert site.attainment is None or math.isfinite(site.attainment)
        if site.projection is not None and site.projection.completion is not None:
            assert site.projection.completion <= site.projection.horizon
    for gigabit in progress.gigabit:
        assert gigabit.attainment is None or math.isfinite(gigabit.attainment)
    for program in SHIPPED.site_programs:
        province = province_site_progress(SHIPPED, program, {"jinan": state}, now)
        assert province.attainment is None or math.isfinite(province.attainment)
    alerts = evaluate_alerts(SHIPPED, {"jinan": state}, now)
    assert all(a.annotations["summary"] for a in alerts)


@st.composite
def on_plan_state(draw: st.DrawFn) -> CityState:
    """Cumulative new sites at each month end >= the plan there; each month's sites on any days
    of that month; reports for any months, the latest as of a month's last day."""
    sites: dict[date, int] = {}
    for day, n in draw(
        st.dictionaries(
            st.dates(date(2019, 1, 1), date(2023, 12, 31)), st.integers(1, 10**6), max_size=5
        )
    ).items():
        sites[day] = n  # before the programmes: counts for nothing
    total = 0
    for month in PROGRAMME_MONTHS:
        needed = max(PLAN[month], total)
        added = needed - total + draw(st.integers(0, 400))
        days = (month.last_day - month.first_day).days
        split = draw(st.lists(st.integers(0, days), min_size=1, max_size=3))
        for index, offset in enumerate(split):
            share = added // len(split) + (added % len(split) if index == 0 else 0)
            day = month.first_day + timedelta(days=offset)
            sites[day] = sites.get(day, 0) + share
        total += added
    reported = frozenset(
        draw(
            st.lists(
                st.sampled_from(months(Period(2024, 1), Period(2028, 6))), min_size=1, max_size=60
            )
        )
    )
    last = draw(st.sampled_from(sorted(reported)))
    return CityState(
        city="jinan",
        sites_by_day={d: n for d, n in sites.items() if n > 0},
        reported_periods={ReportKind.SITES: reported},
        latest_as_of={ReportKind.SITES: last.last_day},
    )


@PROPERTY_SETTINGS
@given(state=on_plan_state(), now=MOMENTS)
def test_a_city_on_plan_at_every_month_end_is_never_behind_plan_nor_projected_to_miss(
    state: CityState, now: datetime
) -> None:
    alerts = evaluate_alerts(ONE_CITY, {"jinan": state}, now)
    raised = {a.name for a in alerts if a.labels.get("city") == "jinan"}
    assert "FiveGBehindPlan" not in raised
    assert "FiveGProjectedMiss" not in raised
