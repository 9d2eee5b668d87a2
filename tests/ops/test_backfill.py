"""``pacer backfill`` -> ``promtool tsdb create-blocks-from openmetrics`` -> a real Prometheus
started on those blocks answers what the history API says, and every panel of the dashboards'
History rows returns data from it (contract §6).

The ingest serves the state of tests/support/history_scenario.py on the tests' clock; the
Prometheus scrapes nothing: all it knows is the backfill.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import VIEWER_TOKEN
from tests.support.applied import apply_reports
from tests.support.history_scenario import JINAN_NEW_BY_MONTH, REPORTS
from tests.support.processes import (
    REPO_ROOT,
    TEST_CLOCK,
    RedisServer,
    ingest_running,
    require_binary,
)
from tests.support.prometheus import Prometheus
from tests.support.reports import bearer

NOW = datetime.fromisoformat(TEST_CLOCK.removeprefix("fixed:"))
JUNE_END = datetime.fromisoformat("2024-06-30T23:59:59+08:00").timestamp()
DASHBOARDS = REPO_ROOT / "deploy" / "grafana" / "dashboards"
Json = dict[str, Any]


@pytest.fixture(scope="module")
def backfilled(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Prometheus, Json]]:
    """A Prometheus on the backfilled blocks, and the history API's Jinan 5g-2025 answer."""
    directory = tmp_path_factory.mktemp("backfill")
    apply_reports(redis_server.url, REPORTS, NOW)
    with ingest_running(redis_server.url, tokens_file, directory) as ingest:
        history = httpx.get(
            f"{ingest.url}/v1/cities/jinan/history",
            params={"program": "5g-2025"},
            headers=bearer(VIEWER_TOKEN),
            timeout=10,
        ).json()
        out = directory / "pacer.om"
        command = [sys.executable, "-m", "services.cli", "backfill", "--out", str(out)]
        command += ["--server", ingest.url, "--token", VIEWER_TOKEN]
        result = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr
    # Retention far back: blocks older than the default 15 days would be deleted at start.
    prometheus = Prometheus(
        directory / "prometheus", {"global": {}}, flags=("--storage.tsdb.retention.time=10y",)
    )
    command = [require_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics"]
    command += ["--quiet", str(out), str(prometheus.data_dir)]
    created = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    with prometheus:
        yield prometheus, history


def test_prometheus_answers_jinans_june_attainment_with_the_history_apis_value(
    backfilled: tuple[Prometheus, Json],
) -> None:
    prometheus, history = backfilled
    june = next(row for row in history["rows"] if row["month"] == "2024-06")
    (answer,) = prometheus.query(
        'pacer_program_attainment_ratio{city="jinan",program="5g-2025"}', at=JUNE_END
    )
    assert float(answer["value"][1]) == june["attainment"]
    # A month's sample is not June's: five minutes into July, the instant query is empty.
    assert not prometheus.query(
        'pacer_program_attainment_ratio{city="jinan",program="5g-2025"}', at=JUNE_END + 301
    )


def test_each_month_end_has_the_history_rows_new_sites(
    backfilled: tuple[Prometheus, Json],
) -> None:
    prometheus, history = backfilled
    for row in history["rows"]:
        month_end = datetime.fromisoformat(f"{row['judged_as_of']}T23:59:59+08:00").timestamp()
        (answer,) = prometheus.query(
            'pacer_5g_sites_new{city="jinan",program="5g-2025"}', at=month_end
        )
        assert float(answer["value"][1]) == JINAN_NEW_BY_MONTH[row["month"]] == row["new"]


def history_panels() -> Iterator[tuple[str, str, str]]:
    """(dashboard, panel title, expression with $city as jinan) of every History row panel."""
    for path in sorted(DASHBOARDS.glob("*.json")):
        in_history = False
        for panel in json.loads(path.read_text())["panels"]:
            if panel["type"] == "row":
                in_history = panel["title"].startswith("History")
                continue
            if in_history:
                for target in panel["targets"]:
                    expr = re.sub(r"\$\{?city\}?", "jinan", target["expr"])
                    yield path.stem, panel["title"], expr


def test_every_history_panel_returns_data_from_the_backfill(
    backfilled: tuple[Prometheus, Json],
) -> None:
    prometheus, _ = backfilled
    panels = list(history_panels())
    assert {board for board, _, _ in panels} == {"pacer-province", "pacer-city"}
    # Mid-July: the panels' last_over_time reaches back to June's month end.
    mid_july = JUNE_END + 14 * 86400
    empty = [
        f"{board} {title!r}: {expr}"
        for board, title, expr in panels
        if not [
            row
            for row in prometheus.query(expr, at=mid_july)
            if math.isfinite(float(row["value"][1]))
        ]
    ]
    assert not empty, "no data:\n" + "\n".join(empty)
