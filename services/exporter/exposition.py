"""Prometheus text exposition (format 0.0.4) of gauge and counter families, rendered directly.

``prometheus_client.generate_latest`` validates and escapes every label name and value of every
sample at every scrape: at 340 cities (~11,000 samples) that was two thirds of a scrape. Here the
``name{label="value",...} `` prefix of each line is built once per label set and kept, so a line
costs a dict lookup and a float formatting. The bytes are the ones ``generate_latest`` writes for
the same families (tests/unit/test_exposition.py compares them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import (
    ALLOWUTF8,
    UNDERSCORES,
    _escape,
    escape_label_name,
    escape_metric_name,
)
from prometheus_client.utils import floatToGoString

MAX_CACHED_LABEL_SETS = 100_000
"""Per family. Label values come from the targets file and a few enumerations, so the cache stays
small; the bound only guards against a label fed by something unbounded (a stream's groups)."""

_SPECIAL_FLOATS = {"inf": "+Inf", "-inf": "-Inf", "nan": "NaN"}


@dataclass(frozen=True)
class Gauge:
    """One gauge family: its samples as (label values in ``labelnames`` order, value)."""

    name: str
    documentation: str
    labelnames: tuple[str, ...] = ()
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)
    metric_type: ClassVar[str] = "gauge"

    def add(self, labelvalues: tuple[str, ...], value: float) -> None:
        self.samples.append((labelvalues, value))


@dataclass(frozen=True)
class Counter(Gauge):
    """One counter family: ``name`` is the samples' name, ending in ``_total`` as
    ``generate_latest`` writes it (and ``promtool check metrics`` wants it). Its values are the
    stored totals; no ``_created`` samples."""

    metric_type: ClassVar[str] = "counter"

    def __post_init__(self) -> None:
        if not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name} must end in _total")


def go_float(value: float) -> str:
    """``prometheus_client``'s ``floatToGoString``, without its work for the common short values.

    A repr of at most 7 characters has its dot at index 6 or less, so ``floatToGoString`` would
    return it unchanged (after naming the infinities and NaN its way); longer ones go to it.
    """
    text = repr(float(value))
    if len(text) <= 7:
        return _SPECIAL_FLOATS.get(text, text)
    formatted: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return formatted


class TextExposition:
    """Renders gauge and counter families; keeps each label set's line prefix across scrapes.

    Only label strings are kept, never values, so a scrape still shows exactly the state read.
    """

    def __init__(self) -> None:
        self._prefixes: dict[tuple[str, tuple[str, ...]], dict[tuple[str, ...], str]] = {}

    def render(self, families: Iterable[Gauge]) -> bytes:
        output: list[str] = []
        for family in families:
            name = escape_metric_name(family.name, UNDERSCORES)
            documentation = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
            output.append(f"# HELP {name} {documentation}\n# TYPE {name} {family.metric_type}\n")
            prefixes = self._prefixes_of(family)
            for labelvalues, value in family.samples:
                prefix = prefixes.get(labelvalues)
                if prefix is None:
                    prefix = prefixes[labelvalues] = _prefix(name, family.labelnames, labelvalues)
                output.append(f"{prefix}{go_float(value)}\n")
        return "".join(output).encode("utf-8")

    def _prefixes_of(self, family: Gauge) -> dict[tuple[str, ...], str]:
        key = (family.name, family.labelnames)
        prefixes = self._prefixes.setdefault(key, {})
        if len(prefixes) > MAX_CACHED_LABEL_SETS:
            prefixes.clear()
        return prefixes


def _prefix(name: str, labelnames: tuple[str, ...], labelvalues: tuple[str, ...]) -> str:
    """``name{a="x",b="y"} `` as ``generate_latest`` writes it: labels sorted by name, values
    escaped (backslash, newline, double quote; any other UTF-8 as is)."""
    if len(labelnames) != len(labelvalues):
        raise ValueError(f"{name}: labels {labelnames} but values {labelvalues}")
    if not labelnames:
        return f"{name} "
    pairs = sorted(zip(labelnames, labelvalues, strict=True))
    labels = ",".join(
        f'{escape_label_name(k, UNDERSCORES)}="{_escape(v, ALLOWUTF8, False)}"'  # type: ignore[arg-type]
        for k, v in pairs
    )
    return f"{name}{{{labels}}} "


def from_metric(metric: Metric) -> Gauge:
    """A ``prometheus_client`` gauge or counter family (a collector's) as one of ours: the
    process families every service shows. Its label names are those of its first sample."""
    if metric.type not in ("gauge", "counter"):
        raise ValueError(f"{metric.name}: a {metric.type} is neither a gauge nor a counter")
    name = f"{metric.name}_total" if metric.type == "counter" else metric.name
    values = [sample for sample in metric.samples if sample.name == name]  # no *_created
    labelnames = tuple(values[0].labels) if values else ()
    samples = [(tuple(s.labels[label] for label in labelnames), s.value) for s in values]
    family = Counter if metric.type == "counter" else Gauge
    return family(name, metric.documentation, labelnames, samples)


def as_metric(gauge: Gauge) -> Metric:
    """The same family for ``prometheus_client`` (a registry, ``generate_latest``)."""
    family: GaugeMetricFamily | CounterMetricFamily
    if isinstance(gauge, Counter):
        family = CounterMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labelnames))
    else:
        family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=list(gauge.labelnames))
    for labelvalues, value in gauge.samples:
        family.add_metric(list(labelvalues), value)
    return family
