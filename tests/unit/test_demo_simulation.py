"""The demo's simulation: reproducible, valid reports, and a story the v2 rules tell exactly.

The story tests replay each seed into the state Pacer would hold at every moment from 2024-01-01
to the end of the story (``tests.support.demo_replay``: every report and every due day, so every
distinct set of alerts) and read the alerts ``evaluate_alerts`` raises: no alert ever names a city
without a part, the province stays on plan, and each part's alerts fire and resolve on the report
or due day the story gives them.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from datetime import date, datetime, timedelta
from functools import cache

import pytest

from services.cli.demo_simulation import (
    FAILING_INDICATOR,
    SKIPPABLE,
    Scenario,
    Submission,
    periods,
    simulate,
)
from shared.domain.calendar import PROVINCE_TZ, Period, due_instant
from shared.domain.plan import Status
from shared.domain.progress import province_site_progress
from shared.domain.targets import Targets
from shared.targets import load_targets
from shared.wire import SHANDONG_LAT, SHANDONG_LON
from tests.support.demo_replay import Episode, Replay

SEEDS = (1, 2, 3, 4, 5)
ROLLOUT = "5g-2025"
DENSITY = "5g-2027"


@cache
def targets() -> Targets:
    return load_targets()


@cache
def scenario(seed: int) -> Scenario:
    return simulate(targets(), seed)


def story_end(story: Scenario) -> datetime:
    """The last instant of the story: the next month's report is not due yet."""
    ends = story.story_ends(targets().reporting.due_day)
    assert ends is not None
    return ends - timedelta(microseconds=1)


@cache
def replay(seed: int) -> Replay:
    story = scenario(seed)
    return Replay(targets(), story, story_end(story))


def sent(story: Scenario, city: str, kind: str, *periods: str) -> list[datetime]:
    """When ``city`` submits its ``kind`` report for each of ``periods``."""
    at = {(s.city, s.kind, str(s.period)): s.at for s in story.submissions}
    return [at[city, kind, period] for period in periods]


def episodes(seed: int, city: str, alertname: str, **labels: str) -> list[Episode]:
    return [
        e
        for e in replay(seed).episodes
        if e.city == city
        and e.name == alertname
        and all(e.label(k) == v for k, v in labels.items())
    ]


def one(found: list[Episode]) -> Episode:
    assert len(found) == 1, [str(e) for e in found]
    return found[0]


# --- the reports -----------------------------------------------------------------------------


def test_the_same_seed_plays_the_same_story_and_another_seed_another() -> None:
    four = dataclasses.replace(targets(), cities=dict(list(targets().cities.items())[:4]))
    assert simulate(four, 1) == simulate(four, 1)  # four cities: the same, a quarter of the work
    assert simulate(four, 2) != simulate(four, 1)


@pytest.mark.parametrize("seed", SEEDS)
def test_four_different_cities_play_a_part(seed: int) -> None:
    roles = scenario(seed).roles
    cast = {roles.lagging, roles.recovering, roles.skipping, roles.gigabit_failing}
    assert len(cast) == 4 and cast <= set(targets().cities)
    assert targets().cities[roles.gigabit_failing].gigabit_since is None
    assert SKIPPABLE[0] <= roles.skipped_period <= SKIPPABLE[1]


def test_each_city_opens_then_reports_sites_through_2025_and_gigabit_through_2024() -> None:
    story = scenario(1)
    per_city = Counter((s.city, s.kind) for s in story.submissions)
    assert len(per_city) == 32
    assert {n for (_city, kind), n in per_city.items() if kind == "5g-sites"} == {1 + 24}
    assert {n for (_city, kind), n in per_city.items() if kind == "gigabit"} == {12}
    opening = [s for s in story.submissions if s.period == Period(2023, 12)]
    assert {s.city for s in opening} == set(targets().cities)
    assert all(s.body["sites"] == [] and s.at.date() == date(2024, 1, 1) for s in opening)
    assert max(s.period for s in story.submissions if s.kind == "gigabit") == Period(2024, 12)
    assert max(s.period for s in story.submissions) == Period(2025, 12)


def test_reports_go_out_early_the_next_month_and_only_the_skipped_month_late() -> None:
    story = scenario(1)
    for report in (s for s in story.submissions if s.period >= Period(2024, 1)):
        assert report.at > datetime.combine(
            report.period.last_day, datetime.min.time(), PROVINCE_TZ
        )
        due = due_instant(report.period, targets().reporting.due_day)
        skipped = (report.city, report.period) == (story.roles.skipping, story.roles.skipped_period)
        assert report.late == skipped
        assert (report.at > due + timedelta(days=10)) if skipped else (report.at < due)
    assert [s.at for s in story.submissions] == sorted(s.at for s in story.submissions)


def test_sites_are_valid_unique_per_city_and_inside_shandong() -> None:
    owners: dict[str, str] = {}
    for report in scenario(1).submissions:
        assert len(report.body.get("sites", [])) <= 10_000
        for site in report.body.get("sites", []):
            assert site["site_id"].startswith(f"{report.city}-")
            assert owners.setdefault(site["site_id"], report.city) == report.city
            assert SHANDONG_LAT[0] <= site["lat"] <= SHANDONG_LAT[1]
            assert SHANDONG_LON[0] <= site["lon"] <= SHANDONG_LON[1]
            assert site["commissioned_on"] <= report.body["as_of"]
            if site["status"] == "in_service":  # a decommissioned one keeps its old date
                assert report.period.contains(date.fromisoformat(site["commissioned_on"]))


def test_a_site_is_first_reported_in_service_and_some_are_decommissioned_later() -> None:
    first_status: dict[str, str] = {}
    decommissioned = 0
    for report in scenario(1).submissions:
        for site in report.body.get("sites", []):
            first_status.setdefault(site["site_id"], site["status"])
            decommissioned += site["status"] == "decommissioned"
    assert set(first_status.values()) == {"in_service"}
    assert decommissioned > 0
    totals = scenario(1).new_in_service()
    assert sum(totals.values()) == len(first_status) - decommissioned


def test_only_the_failing_city_fails_a_gigabit_indicator() -> None:
    story = scenario(1)
    program = targets().gigabit
    for report in (s for s in story.submissions if s.kind == "gigabit"):
        assert set(report.body["indicators"]) == {i.key for i in program.indicators}
        for key, value in report.body["indicators"].items():
            passes = program.indicator(key).passes(value)  # type: ignore[union-attr]
            failing = report.city == story.roles.gigabit_failing and key == FAILING_INDICATOR
            assert passes is not False if not failing else passes is False, (report.city, key)


def test_until_keeps_the_reports_up_to_a_month_and_the_story_ends_before_the_next_is_due() -> None:
    short = scenario(1).until(Period(2024, 3))
    assert {s.period for s in short.submissions} == {
        Period(2023, 12),
        *periods(Period(2024, 1), Period(2024, 3)),
    }
    assert sum(short.new_in_service().values()) < sum(scenario(1).new_in_service().values())
    assert short.story_ends(10) == due_instant(Period(2024, 4), 10)
    assert scenario(1).story_ends(10) == datetime(2026, 2, 11, tzinfo=PROVINCE_TZ)


# --- the story, as the v2 rules tell it --------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_no_alert_ever_names_a_city_without_a_part_and_the_province_stays_on_plan(
    seed: int,
) -> None:
    roles = scenario(seed).roles
    cast = {roles.lagging, roles.recovering, roles.skipping, roles.gigabit_failing}
    named = {e.city for e in replay(seed).episodes}
    assert named <= cast, [str(e) for e in replay(seed).episodes if e.city not in cast]
    assert cast <= named  # and every part is played
    assert not [str(e) for e in replay(seed).episodes if e.name == "FiveGProvinceBehindPlan"]


@pytest.mark.parametrize("seed", SEEDS)
def test_each_part_raises_only_its_own_alerts(seed: int) -> None:
    roles = scenario(seed).roles
    expected = {
        roles.lagging: {"FiveGBehindPlan", "FiveGProjectedMiss", "FiveGTargetMissed"},
        roles.recovering: {"FiveGBehindPlan", "FiveGProjectedMiss"},
        roles.skipping: {"ReportOverdue"},
        roles.gigabit_failing: {"GigabitIndicatorBelowThreshold", "GigabitStandardNotMet"},
    }
    for city, names in expected.items():
        assert {e.name for e in replay(seed).episodes if e.city == city} == names, city


@pytest.mark.parametrize("seed", SEEDS)
def test_the_laggard_warns_after_its_good_quarter_then_goes_critical_then_misses(
    seed: int,
) -> None:
    story = scenario(seed)
    city = story.roles.lagging
    april, may, december = sent(story, city, "5g-sites", "2024-04", "2024-05", "2025-12")
    warning = one(episodes(seed, city, "FiveGBehindPlan", program=ROLLOUT, severity="warning"))
    critical = one(episodes(seed, city, "FiveGBehindPlan", program=ROLLOUT, severity="critical"))
    projected = one(episodes(seed, city, "FiveGProjectedMiss", program=ROLLOUT))
    assert (warning.fired, critical.fired, projected.fired) == (april, may, april)
    # Its December 2025 report makes the final judgement: missed, no longer "behind plan".
    assert warning.resolved == critical.resolved == projected.resolved == december
    missed = one(episodes(seed, city, "FiveGTargetMissed", program=ROLLOUT))
    assert (missed.fired, missed.resolved, missed.label("severity")) == (december, None, "critical")
    # Building at half pace, it falls behind the 5g-2027 increment too, and stays there.
    density = episodes(seed, city, "FiveGBehindPlan", program=DENSITY)
    assert {e.label("severity") for e in density} == {"warning", "critical"}
    assert all(e.resolved is None for e in density)
    assert all(april < e.fired <= december for e in density)
    assert one(episodes(seed, city, "FiveGProjectedMiss", program=DENSITY)).resolved is None


@pytest.mark.parametrize("seed", SEEDS)
def test_the_recovering_city_warns_from_its_may_report_until_its_october_report(
    seed: int,
) -> None:
    story = scenario(seed)
    city = story.roles.recovering
    april, may, october = sent(story, city, "5g-sites", "2024-04", "2024-05", "2024-10")
    behind = one(episodes(seed, city, "FiveGBehindPlan"))
    assert (behind.label("program"), behind.label("severity")) == (ROLLOUT, "warning")
    assert (behind.fired, behind.resolved) == (may, october)
    projected = one(episodes(seed, city, "FiveGProjectedMiss"))
    assert (projected.label("program"), projected.fired, projected.resolved) == (
        ROLLOUT,
        april,
        october,
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_the_skipping_city_is_overdue_from_the_due_day_until_it_submits(seed: int) -> None:
    story = scenario(seed)
    city, month = story.roles.skipping, story.roles.skipped_period
    due = due_instant(month, targets().reporting.due_day)
    for kind in ("5g-sites", "gigabit"):
        overdue = one(episodes(seed, city, "ReportOverdue", kind=kind))
        assert overdue.label("severity") == "warning"
        assert (overdue.fired, overdue.resolved) == (due, *sent(story, city, kind, str(month)))
        assert overdue.resolved is not None
        assert timedelta(days=13) < overdue.resolved - overdue.fired < timedelta(days=18)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_failing_city_warns_from_its_first_report_and_is_critical_and_not_met_at_the_end(
    seed: int,
) -> None:
    story = scenario(seed)
    city = story.roles.gigabit_failing
    january, december = sent(story, city, "gigabit", "2024-01", "2024-12")
    below = episodes(seed, city, "GigabitIndicatorBelowThreshold", indicator=FAILING_INDICATOR)
    assert {(e.label("severity"), e.fired, e.resolved) for e in below} == {
        ("warning", january, None),
        ("critical", december, None),
    }
    not_met = one(episodes(seed, city, "GigabitStandardNotMet"))
    assert (not_met.fired, not_met.resolved) == (december, None)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_province_meets_5g_2025_in_the_end(seed: int) -> None:
    story = scenario(seed)
    end = story_end(story)
    program = next(p for p in targets().site_programs if p.id == ROLLOUT)
    province = province_site_progress(targets(), program, replay(seed).states_at(end), end)
    assert province.judged.final and province.status is Status.MET
    assert province.in_service > 270_000


def test_the_replay_holds_what_a_full_evaluation_raises_at_any_instant() -> None:
    """The replay evaluates a city only when its reports or its judgement inputs change, and
    the province from its own progress: at any instant, the same alerts as every rule asked."""
    story = scenario(1)
    rng = random.Random(1)
    start, end = datetime(2024, 1, 1, tzinfo=PROVINCE_TZ), story_end(story)
    instants = [start + (end - start) * rng.random() for _ in range(6)]
    roles = story.roles
    for report in (
        _first(story, roles.skipping, str(roles.skipped_period)),
        _first(story, roles.recovering, "2024-10"),
        _first(story, roles.lagging, "2025-12"),
    ):
        instants += [report.at - timedelta(seconds=1), report.at]
    instants.append(due_instant(roles.skipped_period, targets().reporting.due_day))
    for instant in instants:
        assert replay(1).raised_at(instant) == replay(1).alerts_at(instant), instant


def _first(story: Scenario, city: str, period: str) -> Submission:
    return next(s for s in story.submissions if (s.city, str(s.period)) == (city, period))
