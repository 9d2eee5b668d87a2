"""The history's monthly series as OpenMetrics text, for ``promtool tsdb create-blocks-from
openmetrics`` (contract §6).

The families carry the live exporter's names and labels, so one dashboard query reads both the
backfilled months and what Prometheus scraped since (tests/unit/test_backfill_series.py holds them
to the exporter's). Each sample is stamped one second before the end of the day its row is judged
on (23:59:59 Asia/Shanghai of the month's last day): an instant query at that moment sees it, and
one more than 5 minutes later does not, so panels read them with ``last_over_time(...[32d])``.
As the exporter does, a ``no_data`` row has no attainment sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from shared.domain.calendar import end_of_day

SITE_KINDS = ("site_rollout", "site_density")
GIGABIT_KIND = "indicator_thresholds"


@dataclass
class Family:
    name: str
    help: str
    labelnames: tuple[str, ...]
    series: dict[tuple[str, ...], list[tuple[int, float]]] = field(default_factory=dict)

    def add(self, labels: tuple[str, ...], timestamp: int, value: float) -> None:
        self.series.setdefault(labels, []).append((timestamp, value))

    @property
    def samples(self) -> int:
        return sum(len(points) for points in self.series.values())


def families() -> dict[str, Family]:
    """The four families of §6, empty."""
    listed = (
        Family(
            "pacer_program_attainment_ratio",
            "Attainment at each month end (backfilled from Pacer's history): new over planned "
            "new sites, or the share of thresholded gigabit indicators passing.",
            ("city", "program"),
        ),
        Family(
            "pacer_5g_sites_new",
            "New in-service 5G sites since the program's start at each month end (backfilled).",
            ("city", "program"),
        ),
        Family(
            "pacer_5g_sites_planned_new",
            "New 5G sites the plan asks for by each month end (backfilled).",
            ("city", "program"),
        ),
        Family(
            "pacer_gigabit_indicator_value",
            "The city's value of a gigabit-city indicator in force at each month end (backfilled).",
            ("city", "indicator"),
        ),
    )
    return {family.name: family for family in listed}


def sample_time(judged_as_of: str) -> int:
    """Unix seconds of 23:59:59 Asia/Shanghai on the day a row is judged on."""
    day = date.fromisoformat(judged_as_of)
    return int((end_of_day(day) - timedelta(seconds=1)).timestamp())


def add_history(found: Mapping[str, Family], history: Mapping[str, Any], indicators: bool) -> None:
    """One city's ``GET /v1/cities/{city}/history`` answer into the families; ``indicators``:
    also its indicator values (from one gigabit programme only: their series have no programme
    label)."""
    city, program, kind = history["city"], history["program"], history["kind"]
    for row in history["rows"]:
        at = sample_time(row["judged_as_of"])
        if row["attainment"] is not None:
            found["pacer_program_attainment_ratio"].add((city, program), at, row["attainment"])
        if kind in SITE_KINDS:
            found["pacer_5g_sites_new"].add((city, program), at, row["new"])
            found["pacer_5g_sites_planned_new"].add((city, program), at, row["planned"])
        elif kind == GIGABIT_KIND and indicators:
            for key, standing in row["indicators"].items():
                if standing["value"] is not None:
                    found["pacer_gigabit_indicator_value"].add((city, key), at, standing["value"])


def render(found: Iterable[Family]) -> str:
    """OpenMetrics text: each family whole, its series one after another, each in time order,
    then ``# EOF``."""
    lines: list[str] = []
    for family in found:
        if not family.series:
            continue
        lines += [f"# HELP {family.name} {_escape_help(family.help)}"]
        lines += [f"# TYPE {family.name} gauge"]
        for labels, points in sorted(family.series.items()):
            pairs = ",".join(
                f'{name}="{_escape_label(value)}"'
                for name, value in zip(family.labelnames, labels, strict=True)
            )
            lines += [f"{family.name}{{{pairs}}} {value!r} {at}" for at, value in sorted(points)]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _escape_label(value: str) -> str:
    return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")
