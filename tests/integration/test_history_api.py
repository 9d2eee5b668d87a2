"""History and export (contract §6) on a real ingest process and Redis.

The state is the aggregator's own (tests/support/history_scenario.py: late, missing and on-time
reports, a decommissioned site, a gigabit value replaced by a later as_of); the clock reads
2024-07-15 12:00. One ingest serves the whole module.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.targets import load_targets
from tests.conftest import CITY_TOKENS, VIEWER_TOKEN
from tests.support.applied import apply_reports
from tests.support.history_scenario import JINAN_NEW_BY_MONTH, JINAN_SITE_REPORTS, REPORTS
from tests.support.processes import REPO_ROOT, TEST_CLOCK, RedisServer, Service, ingest_running
from tests.support.reports import bearer

NOW = datetime.fromisoformat(TEST_CLOCK.removeprefix("fixed:"))
TARGETS = load_targets()
PROGRAMS = ("5g-2025", "5g-2027", "gigabit-2024")
Json = dict[str, Any]


@pytest.fixture(scope="module")
def ingest(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    apply_reports(redis_server.url, REPORTS, NOW)
    with ingest_running(redis_server.url, tokens_file, tmp_path_factory.mktemp("logs")) as service:
        yield service


@pytest.fixture(scope="module")
def api(ingest: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest.url, headers=bearer(VIEWER_TOKEN), timeout=10) as client:
        yield client


def get(api: httpx.Client, path: str, **params: str) -> Json:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def history(api: httpx.Client, city: str | None, program: str) -> Json:
    path = f"/v1/cities/{city}/history" if city else "/v1/history"
    return get(api, path, program=program)


# --- the history ----------------------------------------------------------------------------------


def test_jinan_5g_2025_history_restates_late_reports_and_the_decommissioned_site(
    api: httpx.Client,
) -> None:
    answer = history(api, "jinan", "5g-2025")
    assert (answer["city"], answer["name"], answer["judged_as_of"]) == (
        "jinan",
        "济南市",
        "2024-06-30",
    )
    rows = answer["rows"]
    assert [r["month"] for r in rows] == list(JINAN_NEW_BY_MONTH)
    assert [r["new"] for r in rows] == list(JINAN_NEW_BY_MONTH.values())
    assert [r["report"] for r in rows] == list(JINAN_SITE_REPORTS.values())
    assert rows[0]["status"] == "no_data" and rows[0]["attainment"] is None  # first report: Feb
    assert {r["status"] for r in rows[1:]} == {"behind"}  # a handful of 6,345
    assert rows[1]["received_at"] == "2024-03-20T09:00:00+08:00"
    assert rows[1]["report_due"] == "2024-03-11T00:00:00+08:00"
    assert rows[4]["received_at"] == "2024-06-10T23:59:00+08:00"  # on the due day: on time
    assert [r["judged_as_of"] for r in rows][:3] == ["2024-01-31", "2024-02-29", "2024-03-31"]


def test_jinan_gigabit_history_has_the_values_in_force_at_each_month_end(
    api: httpx.Client,
) -> None:
    rows = history(api, "jinan", "gigabit-2024")["rows"]
    assert [r["month"] for r in rows] == [f"2024-0{m}" for m in range(1, 7)]
    bb_500m = [r["indicators"]["bb_500m_user_share_pct"]["value"] for r in rows]
    coverage = [r["indicators"]["household_gigabit_coverage_pct"]["value"] for r in rows]
    assert bb_500m == [26.0, 28.0, 28.0, 28.0, 28.0, 28.0]  # the January fix tied and won
    assert coverage == [85.0, 85.0, 78.0, 78.0, 78.0, 78.0]
    assert [r["status"] for r in rows] == ["at_risk", "on_track"] + ["at_risk"] * 4
    assert [r["report"] for r in rows] == ["on_time", "on_time", "late"] + ["missing"] * 3


@pytest.mark.parametrize("city", ["jinan", "qingdao", "zibo"])
@pytest.mark.parametrize("program", PROGRAMS)
def test_the_last_history_row_is_the_progress_at_the_same_judgement_day(
    api: httpx.Client, city: str, program: str
) -> None:
    last = history(api, city, program)["rows"][-1]
    progress = get(api, f"/v1/cities/{city}/progress")["programs"][program]
    assert last["judged_as_of"] == progress["judged_as_of"]
    for field in ("final", "status", "attainment"):
        assert last[field] == progress[field], field
    if program == "gigabit-2024":
        assert last["standard_met"] == progress["standard_met"]
        assert last["indicators_passing"] == progress["actual"]
        assert {k: v["value"] for k, v in last["indicators"].items()} == {
            k: v["value"] for k, v in progress["indicators"].items()
        }
    else:
        assert last["new"] == progress["actual"]
        assert last["planned"] == progress["planned_to_date"]
        assert last["target"] == progress["target"]
        assert last["in_service"] == progress["sites"]["in_service"]


@pytest.mark.parametrize("program", ["5g-2025", "5g-2027"])
def test_the_province_history_ends_at_the_provinces_progress(
    api: httpx.Client, program: str
) -> None:
    answer = history(api, None, program)
    last = answer["rows"][-1]
    progress = get(api, "/v1/progress")["province"]["programs"][program]
    assert answer["judged_as_of"] == last["judged_as_of"] == progress["judged_as_of"]
    for field, live in (("status", "status"), ("attainment", "attainment"), ("new", "actual")):
        assert last[field] == progress[live], field
    assert last["planned"] == progress["planned_to_date"]


def test_the_province_history_counts_each_months_reports(api: httpx.Client) -> None:
    rows = history(api, None, "5g-2025")["rows"]
    # Qingdao reported January to May on time, Jinan as above; 14 cities never did.
    expected_on_time = [1, 1, 1, 2, 2, 1]
    assert [r["reports"]["on_time"] for r in rows] == expected_on_time
    assert [r["reports"]["late"] for r in rows] == [0, 1, 0, 0, 0, 0]
    assert [sum(r["reports"].values()) for r in rows] == [16] * 6
    # Jinan 1..6, Qingdao one a month from January to May
    assert [r["new"] for r in rows] == [2, 4, 6, 8, 10, 11]


def test_the_provinces_gigabit_rows_count_the_cities_meeting_the_standard(
    api: httpx.Client,
) -> None:
    rows = history(api, None, "gigabit-2024")["rows"]
    # Jinan meets the standard only in February; Qingdao from June, its first report.
    assert [r["cities_meeting_standard"] for r in rows] == [0, 1, 0, 0, 0, 1]
    assert [r["cities_reporting"] for r in rows] == [1, 1, 1, 1, 1, 2]
    assert {r["cities"] for r in rows} == {16}
    live = get(api, "/v1/progress")["province"]["programs"]["gigabit-2024"]
    assert live["cities_meeting_standard"] == rows[-1]["cities_meeting_standard"]


def test_unknown_city_is_404_and_an_unknown_or_missing_programme_is_422_on_its_loc(
    api: httpx.Client,
) -> None:
    response = api.get("/v1/cities/laiwu/history", params={"program": "5g-2025"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["loc"] == ["path", "city"]
    for path in ("/v1/cities/jinan/history", "/v1/history"):
        unknown = api.get(path, params={"program": "5g-2030"})
        assert unknown.status_code == 422, path
        [error] = unknown.json()["errors"]
        assert (error["loc"], error["code"]) == (["query", "program"], "unknown_program")
        missing = api.get(path)
        assert missing.status_code == 422, path
        assert missing.json()["errors"][0]["loc"] == ["query", "program"]


def test_a_city_token_reads_another_citys_history(ingest: Service) -> None:
    response = httpx.get(
        f"{ingest.url}/v1/cities/jinan/history",
        params={"program": "5g-2025"},
        headers=bearer(CITY_TOKENS["qingdao"]),
    )
    assert response.status_code == 200


# --- the export ----------------------------------------------------------------------------------


NAME_COLUMNS = {"month", "city", "code", "name", "name_en", "program", "kind"}


def export(api: httpx.Client, month: str) -> bytes:
    response = api.get("/v1/export.csv", params={"month": month})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert f'filename="pacer-{month}.csv"' in response.headers["content-disposition"]
    return response.content


def read_csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def as_cell(value: Any) -> str:
    """How the contract's CSV writes a JSON value: empty for null, true/false, else as is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def expected_cells(row: Json) -> dict[str, str]:
    """A history row as the export's columns: indicators and report counts spread out."""
    cells = {k: as_cell(v) for k, v in row.items() if k not in ("indicators", "reports")}
    cells |= {k: as_cell(v["value"]) for k, v in row.get("indicators", {}).items()}
    cells |= {f"reports_{k}": as_cell(v) for k, v in row.get("reports", {}).items()}
    return cells


def test_the_csv_has_the_bom_a_header_and_the_chinese_and_english_names(
    api: httpx.Client,
) -> None:
    body = export(api, "2024-06")
    assert body.startswith(b"\xef\xbb\xbf")
    rows = read_csv(body)
    assert len(rows) == 3 * (16 + 1)  # every programme is open in June 2024
    assert "济南市" in body.decode("utf-8-sig")
    jinan = next(r for r in rows if r["city"] == "jinan")
    assert (jinan["name"], jinan["name_en"], jinan["code"]) == ("济南市", "Jinan", "370100")
    names = {r["name"] for r in rows}
    assert {c.name for c in TARGETS.cities.values()} <= names
    # The province's row closes each programme's block of cities.
    programs = [r["program"] for r in rows]
    for index, row in enumerate(rows):
        is_last_of_program = index + 1 == len(rows) or programs[index + 1] != row["program"]
        assert (row["city"] == "province") == is_last_of_program, index


@pytest.mark.parametrize("month", ["2024-02", "2024-06"])
def test_export_rows_equal_the_history_rows_of_the_month(api: httpx.Client, month: str) -> None:
    rows = read_csv(export(api, month))
    for row in rows:
        city = None if row["city"] == "province" else row["city"]
        wanted = next(r for r in history(api, city, row["program"])["rows"] if r["month"] == month)
        cells = expected_cells(wanted)
        assert {k: row[k] for k in cells} == cells, (row["city"], row["program"])
        assert all(row[k] == "" for k in row.keys() - cells.keys() - NAME_COLUMNS), row


def test_export_refuses_a_month_in_the_future_or_malformed(api: httpx.Client) -> None:
    for month, code in (("2024-08", "month_in_future"), ("2024-13", "invalid_month")):
        response = api.get("/v1/export.csv", params={"month": month})
        assert response.status_code == 422, month
        [error] = response.json()["errors"]
        assert (error["loc"], error["code"]) == (["query", "month"], code)
    assert api.get("/v1/export.csv", params={"month": "June"}).status_code == 422
    assert api.get("/v1/export.csv").status_code == 422


def test_pacer_export_writes_the_apis_bytes(
    api: httpx.Client, ingest: Service, tmp_path: Path
) -> None:
    out = tmp_path / "june.csv"
    command = [sys.executable, "-m", "services.cli", "export", "--month", "2024-06"]
    command += ["--out", str(out), "--server", ingest.url, "--token", VIEWER_TOKEN]
    result = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == export(api, "2024-06")
