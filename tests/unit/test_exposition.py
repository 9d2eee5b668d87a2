"""The exporter's own text rendering against ``prometheus_client.generate_latest``.

``/metrics`` is rendered by ``services.exporter.exposition`` (label strings built once, not per
sample); Prometheus, promtool and the dashboards were built against what ``generate_latest``
writes, so the two must agree byte for byte on the same families.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString

from bench.synthetic import write_targets_file
from services.exporter.collector import PacerCollector
from services.exporter.exposition import (
    Counter,
    Gauge,
    TextExposition,
    as_metric,
    from_metric,
    go_float,
)
from services.exporter.snapshot import AlertCount, Snapshot
from shared import names
from shared.build_info import BuildInfo
from shared.domain.alerts import AlertName, Severity
from shared.domain.state import CityState, IndicatorReading, ReportKind
from shared.domain.targets import Targets
from shared.runtime_metrics import runtime_families
from shared.store.reports import RejectedCount
from shared.store.streams import GroupStats, StreamStats
from shared.targets import load_targets

NOW = datetime(2025, 3, 14, 6, 30, tzinfo=UTC)
ODD_VALUES = (
    0,
    0.0,
    -0.0,
    1,
    1.0,
    -7,
    -2.5,
    0.1,
    1e-7,
    123456.0,
    999999.9,
    1234567.0,
    1721016000.0,
    1721016000.123,
    2**53,
    10**20,
    -(10**20),
    1.7976931348623157e308,
    math.inf,
    -math.inf,
    math.nan,
    True,
    False,
)
ODD_LABEL_VALUES = (
    "jinan",
    'say "hi"',
    "back\\slash",
    "two\nlines",
    "济南市",
    "Zürich ☃",
    "",
    "tab\there",
    "\\n literally",
)


class Frozen:
    """A collector yielding the given families, so both renderers see the very same numbers."""

    def __init__(self, families: Iterable[Gauge]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return (as_metric(family) for family in self._families)


def reference(families: Iterable[Gauge]) -> bytes:
    registry = CollectorRegistry()
    registry.register(Frozen(families))
    return generate_latest(registry)


def national_state(targets: Targets) -> Snapshot:
    """Every city in a different situation: sites over several days, all, some or none of the
    gigabit indicators reported, either or both report kinds received, or nothing at all."""
    indicators = [indicator.key for indicator in targets.gigabit.indicators]
    states: dict[str, CityState] = {}
    for n, city in enumerate(targets.cities.values()):
        if n % 11 == 10:
            continue  # never reported: the exporter must fall back to an empty state
        received = datetime(2024, 7, 10, 1, 2, 3, n * 1000, tzinfo=UTC)
        states[city.id] = CityState(
            city.id,
            sites_by_day={
                date(2024, 1, 1) + timedelta(days=7 * k): (n * 37 + k * 101) % 900
                for k in range(n % 9)
            },
            indicators={
                key: IndicatorReading(
                    [0.0, 12.5, 79.99, 80.0, 100.0, n / 7][(n + i) % 6], date(2024, 6, 30), "r"
                )
                for i, key in enumerate(indicators[: n % (len(indicators) + 1)])
            },
            last_received={ReportKind.SITES: received, ReportKind.GIGABIT: received}
            if n % 3
            else {ReportKind.SITES: received},
        )
    streams = StreamStats(
        lengths={stream: 17 * i for i, stream in enumerate(names.ALL_STREAMS)},
        groups=(
            GroupStats(names.REPORTS_STREAM, "aggregator", 3, 120),
            GroupStats(names.PROGRESS_STREAM, "alerting", 0, 0),
        ),
    )
    return Snapshot(
        states=states,
        streams=streams,
        dead_letters={source: 2 for source in names.DEAD_LETTER_STREAMS},
        alerts=tuple(
            AlertCount(str(name), str(severity), i)
            for i, (name, severity) in enumerate(
                (name, severity) for name in AlertName for severity in Severity
            )
        ),
        read_seconds=0.0123,
        rejected=tuple(
            RejectedCount(city, kind, code, n)
            for n, (city, kind, code) in enumerate(
                [
                    (next(iter(targets.cities)), "5g-sites", "site_registered_elsewhere"),
                    (next(iter(targets.cities)), "gigabit", "dead_lettered"),
                    ("not-in-the-targets", "5g-sites", "dead_lettered"),
                    (list(targets.cities)[-1], "5g-sites", "a_code_of_a_later_version"),
                ],
                start=1,
            )
        ),
    )


@pytest.fixture(scope="module")
def national_targets(tmp_path_factory: pytest.TempPathFactory) -> Targets:
    path: Path = tmp_path_factory.mktemp("national") / "targets.yaml"
    write_targets_file(path, 340, sites_per_city=11_765)
    return load_targets(path)


@pytest.mark.parametrize("scale", ["shandong", "national"])
def test_metrics_page_is_byte_for_byte_what_prometheus_client_renders(
    scale: str, national_targets: Targets
) -> None:
    targets = load_targets() if scale == "shandong" else national_targets
    families = list(PacerCollector(targets, national_state(targets), NOW).gauges())

    rendered = TextExposition().render(families)

    assert rendered == reference(families)
    assert len(rendered.splitlines()) > (10_000 if scale == "national" else 400)


def test_a_second_scrape_shows_new_values_under_the_cached_labels() -> None:
    targets = load_targets()
    exposition = TextExposition()
    before = list(PacerCollector(targets, national_state(targets), NOW).gauges())
    later = list(
        PacerCollector(targets, national_state(targets), NOW + timedelta(days=200)).gauges()
    )
    exposition.render(before)

    again = exposition.render(later)

    assert again == reference(later)
    assert again != reference(before)


def test_odd_label_values_and_numbers_render_as_prometheus_client_renders_them() -> None:
    families = [
        Gauge(
            "pacer_test_odd",
            'Help with a back\\slash, a "quote" and a\nnewline.',
            ("program", "city"),
            [
                ((program, city), value)
                for program, (city, value) in zip(
                    ODD_LABEL_VALUES * 3,
                    zip(ODD_LABEL_VALUES[::-1] * 3, ODD_VALUES, strict=False),
                    strict=False,
                )
            ],
        ),
        Gauge("pacer_test_plain", "No labels.", (), [((), math.nan)]),
        Gauge("pacer_test_empty", "A family with no samples yet.", ("city",)),
        Counter(
            "pacer_test_counted_total",
            'A counter, "quoted".',
            ("city", "code"),
            [
                ((city, "x"), value)
                for city, value in zip(ODD_LABEL_VALUES, ODD_VALUES, strict=False)
            ],
        ),
        Counter("pacer_test_plain_total", "A counter without labels.", (), [((), 3)]),
    ]
    exposition = TextExposition()

    rendered = exposition.render(families)

    assert rendered == reference(families)
    assert exposition.render(families) == rendered  # from the cached label strings
    parsed = {f.name: f for f in text_string_to_metric_families(rendered.decode("utf-8"))}
    read_back = [(s.labels, repr(s.value)) for s in parsed["pacer_test_odd"].samples]
    assert read_back == [
        ({"program": p, "city": c}, repr(float(v))) for (p, c), v in families[0].samples
    ]


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_numbers_are_formatted_as_prometheus_client_formats_them(value: float) -> None:
    assert go_float(value) == floatToGoString(value)  # type: ignore[no-untyped-call]


def test_a_label_set_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="labels"):
        TextExposition().render([Gauge("pacer_test", "x", ("city",), [(("a", "b"), 1.0)])])


def test_a_counter_is_named_as_its_samples_are() -> None:
    with pytest.raises(ValueError, match="_total"):
        Counter("pacer_reports_rejected", "x", ("city",))


def test_rejected_reports_count_from_zero_for_every_city_and_code_it_can_have() -> None:
    targets = load_targets()
    families = {f.name: f for f in PacerCollector(targets, national_state(targets), NOW).gauges()}

    rejected = families["pacer_reports_rejected_total"]

    assert isinstance(rejected, Counter)
    samples = dict(rejected.samples)
    first, last = next(iter(targets.cities)), list(targets.cities)[-1]
    assert samples[(first, "5g-sites", "site_registered_elsewhere")] == 1
    assert samples[(first, "gigabit", "dead_lettered")] == 2
    assert samples[(last, "5g-sites", "a_code_of_a_later_version")] == 4
    assert samples[(last, "5g-sites", "site_limit_exceeded")] == 0
    assert not any(city == "not-in-the-targets" for city, _, _ in samples)
    assert len(samples) == 16 * 4 + 1


def test_the_process_families_render_as_prometheus_client_renders_its_own_collectors() -> None:
    collected = runtime_families(BuildInfo("1.2.3", 'abc"\\def'))
    families = [from_metric(metric) for metric in collected]

    rendered = TextExposition().render(families)

    assert rendered == reference(families)
    text = rendered.decode()
    assert "# TYPE process_cpu_seconds_total counter\n" in text
    assert 'pacer_build_info{revision="abc\\"\\\\def",version="1.2.3"} 1.0\n' in text
    assert {f.name for f in families} >= {
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_open_fds",
        "python_info",
        "pacer_build_info",
    }


def test_a_histogram_is_not_taken_for_a_gauge() -> None:
    from prometheus_client.core import HistogramMetricFamily

    with pytest.raises(ValueError, match="neither a gauge nor a counter"):
        from_metric(HistogramMetricFamily("x_seconds", "x", buckets=[("+Inf", 1)], sum_value=1))
