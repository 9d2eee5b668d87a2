"""``pacer submit`` as a city officer runs it: the real command against real ingest and aggregator
processes on a real redis-server, with files written the way a spreadsheet would write them."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from shared import names
from tests.conftest import CITY_TOKENS
from tests.support.processes import REPO_ROOT, Service
from tests.support.reports import bearer, site

pytestmark = pytest.mark.slow

JINAN, QINGDAO = CITY_TOKENS["jinan"], CITY_TOKENS["qingdao"]
SITE_COLUMNS = [
    "site_id",
    "operator",
    "status",
    "commissioned_on",
    "lat",
    "lon",
    "district",
    "band",
]
JULY = ["--period", "2024-07", "--as-of", "2024-07-10"]


@dataclass
class Pacer:
    ingest: Service

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.ingest.url}{path}", headers=bearer(JINAN), timeout=10)

    def in_service(self, city: str) -> int:
        response = self.get(f"/v1/cities/{city}/progress")
        response.raise_for_status()
        return int(response.json()["sites_in_service"])

    def submit(self, token: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            submit_argv(*args), env=cli_env(self, token), cwd=REPO_ROOT,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip


def submit_argv(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "services.cli", "submit", *map(str, args)]


def cli_env(pacer: Pacer, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACER_")}
    return env | {"PACER_API_URL": pacer.ingest.url, "PACER_TOKEN": token}


@pytest.fixture
def pacer(
    make_service: Callable[..., Service], service_env: dict[str, str], redis_client: redis.Redis
) -> Pacer:
    """ingest + aggregator on an emptied redis-server, clock fixed at 2024-07-15 12:00 +08:00."""
    started = [make_service(name, service_env, start=False) for name in ("ingest", "aggregator")]
    for service in started:
        service.start(wait=False)
    for service in started:
        service.wait_ready()
    return Pacer(started[0])


def write_sites_csv(
    path: Path, count: int, prefix: str, on_line: dict[int, dict[str, str]] | None = None
) -> Path:
    """``count`` valid sites (line n holds site n-1: the header is line 1), with ``on_line``
    overriding cells of given lines."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SITE_COLUMNS)
        for index in range(count):
            cells = site(f"{prefix}-{index:06d}", lat=f"{36 + (index % 90) / 100:.3f}")
            cells |= {"district": "历下区" if index % 2 else "", "band": "n41"}
            cells |= (on_line or {}).get(index + 2, {})
            writer.writerow([cells[column] for column in SITE_COLUMNS])
    return path


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.stdout, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def entries_appended(redis_client: redis.Redis) -> int:
    """Entries ever appended to the reports stream: the aggregator trims applied ones (every 10 s),
    so the stream's length would depend on timing; its entries-added counter does not."""
    if not redis_client.exists(names.REPORTS_STREAM):
        return 0
    return int(redis_client.xinfo_stream(names.REPORTS_STREAM)["entries-added"])


# Large files: reports of 10,000, ids from content ---------------------------------------------


def test_a_25000_row_csv_becomes_three_reports_and_a_second_run_submits_nothing(
    pacer: Pacer, tmp_path: Path, redis_client: redis.Redis
) -> None:
    sites = write_sites_csv(tmp_path / "jinan-2024-07.csv", 25_000, "JN")
    before = pacer.in_service("jinan")

    first = pacer.submit(JINAN, "5g-sites", sites, "--city", "jinan", *JULY, "--json")

    assert first.returncode == 0, first.stderr
    reports = summary(first)["reports"]
    assert [r["rows"] for r in reports] == [10_000, 10_000, 5_000]
    assert [(r["first_row"], r["last_row"]) for r in reports] == [
        (2, 10_001), (10_002, 20_001), (20_002, 25_001)
    ]  # fmt: skip
    assert {(r["answer"], r["status"]) for r in reports} == {("accepted", "applied")}
    assert [r["summary"]["created"] for r in reports] == [10_000, 10_000, 5_000]
    for report in reports:
        record = pacer.get(f"/v1/reports/{report['report_id']}").json()
        assert (record["status"], record["kind"]) == ("applied", "5g-sites")
    assert pacer.in_service("jinan") == before + 25_000

    again = pacer.submit(JINAN, "5g-sites", sites, "--city", "jinan", *JULY)

    assert again.returncode == 0, again.stderr
    for report in reports:  # each the same report id, answered duplicate
        assert f"report {report['number']}/3 {report['report_id']}" in again.stderr
    assert again.stderr.count("): duplicate") == 3
    assert again.stdout.count(" duplicate ") == 3  # the table's result column
    assert "\x1b" not in again.stdout + again.stderr  # piped: no colours, no progress bar
    assert pacer.in_service("jinan") == before + 25_000
    assert entries_appended(redis_client) == 3


def test_the_upload_finishes_with_every_site_stored_once_when_the_api_restarts_midway(
    pacer: Pacer, tmp_path: Path, redis_client: redis.Redis
) -> None:
    sites = write_sites_csv(tmp_path / "jinan.csv", 30_000, "JN")
    before = pacer.in_service("jinan")
    command = subprocess.Popen(
        submit_argv("5g-sites", sites, "--city", "jinan", *JULY, "--json"),
        env=cli_env(pacer, JINAN), cwd=REPO_ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert command.stderr is not None
        seen: list[str] = []
        while not any(line.startswith("report 1/3 ") for line in seen):
            line = command.stderr.readline()
            assert line, f"the command ended early: {''.join(seen)}"
            seen.append(line)
        assert seen[-1].rstrip().endswith("accepted")

        pacer.ingest.kill()  # reports 2 and 3 are still to come
        time.sleep(2)
        pacer.ingest.start()  # the same port

        stdout, stderr = command.communicate(timeout=120)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    stderr = "".join(seen) + stderr

    assert command.returncode == 0, stderr
    assert "retrying in" in stderr  # it did meet the outage
    reports = json.loads(stdout)["reports"]
    assert [(r["rows"], r["status"]) for r in reports] == [(10_000, "applied")] * 3
    assert pacer.in_service("jinan") == before + 30_000
    assert entries_appended(redis_client) == 3  # one stream entry per report


# Errors, by row ---------------------------------------------------------------------------------


def test_bad_rows_are_named_by_line_and_nothing_of_their_report_is_stored(
    pacer: Pacer, tmp_path: Path, redis_client: redis.Redis
) -> None:
    qingdao = write_sites_csv(tmp_path / "qingdao.csv", 1, "QD")
    assert pacer.submit(QINGDAO, "5g-sites", qingdao, "--city", "qingdao", *JULY).returncode == 0
    sites = write_sites_csv(
        tmp_path / "jinan.csv",
        20,
        "JN",
        on_line={
            7: {"lat": "40.1"},  # north of Shandong
            12: {"operator": "acme"},  # "cmcc" would be read as China Mobile (its abbreviation)
            15: {"commissioned_on": "2024-07-32"},
            20: {"site_id": "QD-000000"},  # only the server knows: qingdao's site
        },
    )
    before = pacer.in_service("jinan")

    result = pacer.submit(JINAN, "5g-sites", sites, "--city", "jinan", *JULY, "--json")

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    expected = {
        7: "lat: latitude 40.1 is outside Shandong's bounding box",
        12: "operator: Input should be 'china_mobile'",
        15: "commissioned_on: Input should be a valid date",
        20: "site_id: site 'QD-000000' is registered to another city (site_registered_elsewhere)",
    }
    for line_number, text in expected.items():
        assert any(line.startswith(f"{sites}:{line_number}: {text}") for line in lines), lines
    assert sum(line.startswith(f"{sites}:") for line in lines) == len(expected)
    [report] = summary(result)["reports"]
    assert (report["status"], report["rows"], report["rejected"]) == ("rejected", 20, 20)
    assert pacer.get(f"/v1/reports/{report['report_id']}").status_code == 404
    assert pacer.in_service("jinan") == before
    assert entries_appended(redis_client) == 1  # qingdao's report only


def test_errors_the_server_finds_are_traced_to_the_ndjson_line(
    pacer: Pacer, tmp_path: Path
) -> None:
    qingdao = write_sites_csv(tmp_path / "qingdao.csv", 1, "QD")
    assert pacer.submit(QINGDAO, "5g-sites", qingdao, "--city", "qingdao", *JULY).returncode == 0
    lines = [site("JN-1"), None, site("JN-2"), site("QD-000000")]  # None: a blank line
    sites = tmp_path / "jinan.ndjson"
    sites.write_text("".join(f"{json.dumps(s) if s else ''}\n" for s in lines))

    result = pacer.submit(
        JINAN, "5g-sites", sites, "--city", "jinan", "--period", "2024-08", "--as-of", "2024-08-01"
    )

    assert result.returncode == 1
    assert f"{sites}:4: site_id: site 'QD-000000' is registered to another city" in result.stderr
    assert f"{sites}: period: period 2024-08 has not begun (period_in_future)" in result.stderr
    assert " rejected " in result.stdout


def test_sites_from_json_and_ndjson_are_submitted_and_bad_elements_named(
    pacer: Pacer, tmp_path: Path
) -> None:
    as_object = tmp_path / "sites.json"
    as_object.write_text(json.dumps({"sites": [site("JN-J1"), site("JN-J2")]}))
    as_lines = tmp_path / "sites.jsonl"
    as_lines.write_text(f"{json.dumps(site('JN-N1'))}\n\n{json.dumps(site('JN-N2'))}\n")
    bad_list = tmp_path / "bad.json"
    bad_list.write_text(json.dumps([site("JN-B1"), site("JN-B2", lat="36.6")]))
    bad_lines = tmp_path / "bad.ndjson"
    bad_lines.write_text(f"{json.dumps(site('JN-B3'))}\n\n{{not json\n")
    before = pacer.in_service("jinan")

    for good in (as_object, as_lines):
        result = pacer.submit(JINAN, "5g-sites", good, "--city", "jinan", *JULY, "--json")
        assert result.returncode == 0, result.stderr
        assert summary(result)["totals"]["created"] == 2
    for bad, where in ((bad_list, f"{bad_list}:2: lat: "), (bad_lines, f"{bad_lines}:3: ")):
        result = pacer.submit(JINAN, "5g-sites", bad, "--city", "jinan", *JULY)
        assert result.returncode == 1
        assert where in result.stderr

    assert pacer.in_service("jinan") == before + 4


# Gigabit, and dry runs --------------------------------------------------------------------------


def test_gigabit_indicators_from_csv_rows_a_wide_csv_and_json(pacer: Pacer, tmp_path: Path) -> None:
    rows = tmp_path / "june.csv"
    rows.write_text(
        "indicator,value\nhousehold_gigabit_coverage_pct,112.4\npon_10g_port_share_pct,31\n"
    )
    wide = tmp_path / "july-users.csv"
    wide.write_text("bb_1000m_users,user_5g_share_pct\n1250000,\n")  # a blank cell: not reported
    as_json = tmp_path / "july.json"
    as_json.write_text(json.dumps({"household_gigabit_coverage_pct": 95.5, "bs_5g_per_10k": 21.7}))
    runs = [
        (rows, ["--period", "2024-06", "--as-of", "2024-06-30"], 2),
        (wide, JULY, 1),
        (as_json, ["--period", "2024-07", "--as-of", "2024-07-12"], 2),
    ]

    for path, dates, indicators in runs:
        result = pacer.submit(JINAN, "gigabit", path, "--city", "jinan", *dates, "--json")
        assert result.returncode == 0, result.stderr
        [report] = summary(result)["reports"]
        assert (report["status"], report["sent"]) == ("applied", indicators)

    progress = pacer.get("/v1/cities/jinan/progress").json()
    values = {
        key: indicator["value"]
        for key, indicator in progress["programs"]["gigabit-2024"]["indicators"].items()
    }
    assert values["household_gigabit_coverage_pct"] == 95.5  # the latest as_of wins
    assert values["pon_10g_port_share_pct"] == 31
    assert values["bb_1000m_users"] == 1_250_000
    assert values["bs_5g_per_10k"] == 21.7
    assert values["user_5g_share_pct"] is None


def test_a_dry_run_previews_and_stores_nothing(
    pacer: Pacer, tmp_path: Path, redis_client: redis.Redis
) -> None:
    sites = write_sites_csv(tmp_path / "jinan.csv", 12, "JN")
    before = pacer.in_service("jinan")

    dry = pacer.submit(JINAN, "5g-sites", sites, "--city", "jinan", *JULY, "--json", "--dry-run")

    assert dry.returncode == 0, dry.stderr
    [report] = summary(dry)["reports"]
    assert (report["answer"], report["status"]) == ("valid", "dry run")
    assert report["summary"] == {"created": 12, "updated": 0, "unchanged": 0}
    assert pacer.get(f"/v1/reports/{report['report_id']}").status_code == 404
    assert pacer.in_service("jinan") == before
    assert entries_appended(redis_client) == 0

    real = pacer.submit(JINAN, "5g-sites", sites, "--city", "jinan", *JULY, "--json")

    assert real.returncode == 0, real.stderr
    assert summary(real)["reports"][0]["answer"] == "accepted"  # the dry run used up nothing
    assert pacer.in_service("jinan") == before + 12
