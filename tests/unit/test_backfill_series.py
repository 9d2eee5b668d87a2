"""``pacer backfill``'s OpenMetrics text (services/cli/backfill_series.py): valid OpenMetrics, the
live exporter's names and labels, samples at 23:59:59 of each month end, no attainment for
no_data months."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from services.cli.backfill_series import add_history, families, render, sample_time
from services.exporter.collector import PacerCollector
from services.exporter.snapshot import Snapshot
from services.ingest.history_view import city_history_view
from shared.domain.calendar import Period
from shared.domain.state import CityState, IndicatorReading, ReportKind
from shared.store.streams import StreamStats
from shared.targets import load_targets

CST = timezone(timedelta(hours=8))
TARGETS = load_targets()
JINAN = TARGETS.cities["jinan"]
NOW = datetime(2024, 7, 15, 12, tzinfo=CST)
REPORTED = frozenset(Period(2024, m) for m in (2, 3, 4, 5, 6))
STATE = CityState(
    city="jinan",
    sites_by_day={date(2024, 1, 15): 99, date(2024, 4, 10): 600, date(2024, 6, 20): 900},
    indicator_history=(
        ("bb_500m_user_share_pct", IndicatorReading(20.0, date(2024, 2, 29), "g2")),
        ("bb_500m_user_share_pct", IndicatorReading(28.0, date(2024, 5, 31), "g5")),
        ("user_5g_share_pct", IndicatorReading(30.0, date(2024, 2, 29), "g2")),
    ),
    reported_periods={ReportKind.SITES: REPORTED, ReportKind.GIGABIT: REPORTED},
    latest_as_of={ReportKind.SITES: date(2024, 6, 30), ReportKind.GIGABIT: date(2024, 6, 30)},
)


def backfill_text() -> str:
    found = families()
    for program in TARGETS.programs:
        view = city_history_view(TARGETS, program, JINAN, STATE, NOW)
        add_history(found, view, indicators=program.id == TARGETS.gigabit.id)
    return render(found.values())


def parsed() -> dict[str, dict[tuple[tuple[str, str], ...], list[tuple[float, float]]]]:
    """Family -> labels -> [(timestamp, value)], by prometheus_client's OpenMetrics parser."""
    series: dict[str, dict[tuple[tuple[str, str], ...], list[tuple[float, float]]]] = {}
    for family in text_string_to_metric_families(backfill_text()):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            assert sample.timestamp is not None
            stamp = float(sample.timestamp)
            series.setdefault(family.name, {}).setdefault(labels, []).append((stamp, sample.value))
    return series


def test_the_text_is_openmetrics_ending_in_eof_with_the_four_families() -> None:
    text = backfill_text()
    assert text.endswith("# EOF\n")
    assert set(parsed()) == {
        "pacer_program_attainment_ratio",
        "pacer_5g_sites_new",
        "pacer_5g_sites_planned_new",
        "pacer_gigabit_indicator_value",
    }


def test_names_and_labels_are_the_live_exporters() -> None:
    snapshot = Snapshot({}, StreamStats({}, ()), {}, (), 0.0)
    live = {g.name: g.labelnames for g in PacerCollector(TARGETS, snapshot, NOW).gauges()}
    for family in families().values():
        assert live[family.name] == family.labelnames, family.name


def test_samples_sit_at_23_59_59_of_each_month_end_in_shanghai() -> None:
    assert sample_time("2024-06-30") == int(
        datetime(2024, 6, 30, 23, 59, 59, tzinfo=CST).timestamp()
    )
    new = parsed()["pacer_5g_sites_new"][(("city", "jinan"), ("program", "5g-2025"))]
    month_ends = [date(2024, m + 1, 1) - timedelta(days=1) for m in range(1, 7)]
    assert [t for t, _ in new] == [sample_time(d.isoformat()) for d in month_ends]
    assert [v for _, v in new] == [99, 99, 99, 699, 699, 1599]


def test_a_no_data_month_has_no_attainment_sample_but_has_its_sites() -> None:
    series = parsed()
    key = (("city", "jinan"), ("program", "5g-2025"))
    january = sample_time("2024-01-31")
    assert january not in [t for t, _ in series["pacer_program_attainment_ratio"][key]]
    assert january in [t for t, _ in series["pacer_5g_sites_new"][key]]


def test_indicator_values_are_those_in_force_at_each_month_end() -> None:
    values = parsed()["pacer_gigabit_indicator_value"]
    bb_500m = values[(("city", "jinan"), ("indicator", "bb_500m_user_share_pct"))]
    assert [v for _, v in bb_500m] == [20.0, 20.0, 20.0, 28.0, 28.0]  # February to June


def test_the_last_month_is_what_the_exporter_shows_at_the_same_now() -> None:
    snapshot = Snapshot({"jinan": STATE}, StreamStats({}, ()), {}, (), 0.0)
    live = {g.name: g for g in PacerCollector(TARGETS, snapshot, NOW).gauges()}
    series = parsed()
    for name in ("pacer_program_attainment_ratio", "pacer_5g_sites_new"):
        for labels, value in live[name].samples:
            if labels[0] != "jinan":
                continue
            key = (("city", "jinan"), ("program", labels[1]))
            # the history API rounds as /v1/progress does: attainment to 4 decimals
            assert series[name][key][-1][1] == pytest.approx(value, abs=5e-5), (name, labels)
