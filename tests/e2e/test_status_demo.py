"""``pacer status`` and ``pacer demo`` as a user runs them: real ``pacer up``, real CLI runs."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.cli.demo_simulation import FAILING_INDICATOR, simulate
from shared.targets import load_targets
from tests.support.demo_replay import Replay
from tests.support.pacer_up import PacerUp
from tests.support.processes import REPO_ROOT, wait_until
from tests.support.reports import bearer, gigabit_report, site, sites_report

pytestmark = pytest.mark.slow

NOW = "2024-07-15T12:00:00+08:00"
SECONDS_PER_MONTH = 1.5
FIRES_WITHIN = timedelta(days=15)
"""After the moment the rules raise an alert, the running Pacer has: a report to apply (well
under a second, 10 simulated days at a month in 1.5 s) and an evaluation to run (every 0.15 s)."""
RESOLVES_WITHIN = FIRES_WITHIN + timedelta(days=6)
"""Resolving adds PACER_RESOLVE_HOLD (1 day) and the demo's next look at the alerts (0.25 s)."""


def cli(*args: str, api: str, token: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACER_")}
    env |= {"PACER_API_URL": api, "PACER_TOKEN": token, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def post(api: httpx.Client, path: str, body: dict[str, Any], token: str) -> None:
    response = api.post(path, json=body, headers=bearer(token))
    assert response.status_code == 202, response.text


def stable_alerts(api: httpx.Client) -> list[dict[str, Any]]:
    """GET /v1/alerts once two readings a second apart agree (the evaluations have settled)."""
    readings: list[list[dict[str, Any]]] = [[{"never": "equal"}]]

    def settled() -> bool:
        readings.append(api.get("/v1/alerts").json())
        return readings[-1] == readings[-2]

    wait_until(settled, timeout=30, interval=1.0)
    return readings[-1]


def test_status_json_agrees_with_progress_and_the_table_renders(
    start_pacer_up: Callable[..., PacerUp],
) -> None:
    up = start_pacer_up(PACER_CLOCK=f"fixed:{NOW}", PACER_EVAL_INTERVAL="0.5")
    up.wait_all_ready()
    tokens = up.tokens()
    june = [site(f"JN-{n:03d}", commissioned_on="2024-06-03") for n in range(40)]
    july = [site("JN-000", commissioned_on="2024-06-03", status="decommissioned")]
    with httpx.Client(base_url=up.url("ingest"), timeout=30) as api:
        reports = [
            ("jinan", "5g-sites", sites_report(*june, period="2024-06", as_of="2024-06-30")),
            ("jinan", "5g-sites", sites_report(*july, period="2024-07", as_of="2024-07-12")),
            ("qingdao", "gigabit", gigabit_report({FAILING_INDICATOR: 75, "bs_5g_per_10k": 20})),
        ]
        ids = []
        for city, kind, body in reports:
            body["report_id"] = f"status-{city}-{kind}-{body['period']}"
            post(api, f"/v1/cities/{city}/reports/{kind}", body, tokens[f"{city}-officer"])
            ids.append(body["report_id"])
        viewer = tokens["viewer"]
        wait_until(
            lambda: all(
                api.get(f"/v1/reports/{i}", headers=bearer(viewer)).json()["status"] == "applied"
                for i in ids
            ),
            timeout=20,
        )
        api.headers.update(bearer(viewer))
        alerts = stable_alerts(api)
        result = cli("status", "--json", api=up.url("ingest"), token=viewer)
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        progress = api.get("/v1/progress").json()

    assert document["as_of"] == progress["as_of"]
    assert document["province"]["programs"] == progress["province"]["programs"]
    assert set(document["cities"]) == set(progress["cities"])
    for city_id, city in progress["cities"].items():
        mine = document["cities"][city_id]
        for program_id, program in city["programs"].items():
            theirs = mine["programs"][program_id]
            for field in ("status", "attainment", "actual", "target", "planned_to_date"):
                assert theirs[field] == program[field], (city_id, program_id, field)
            assert theirs.get("sites") == program.get("sites")
        owed = sorted(kind for kind, report in city["reports"].items() if report["overdue"])
        assert mine["overdue"] == owed
        assert mine["active_alerts"] == sum(1 for a in alerts if a["labels"].get("city") == city_id)
    assert document["cities"]["jinan"]["programs"]["5g-2025"]["sites"]["new"] == 39
    assert {a["fingerprint"] for a in document["alerts"]} == {a["fingerprint"] for a in alerts}
    assert any(
        a["labels"]["alertname"] == "GigabitIndicatorBelowThreshold"
        and a["labels"]["city"] == "qingdao"
        for a in document["alerts"]
    )

    table = cli("status", api=up.url("ingest"), token=viewer)
    assert table.returncode == 0, table.stderr
    assert "Jinan" in table.stdout and "Heze" in table.stdout and "Province" in table.stdout
    assert "39 of 6,345" in table.stdout
    assert "Active alerts" in table.stdout
    assert "\x1b[" not in table.stdout  # not a terminal: no colour codes


def run_demo(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``pacer demo --start`` as a user runs it: its own Pacer, nothing of ours in its way."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACER_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--start", "--free-ports", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def test_pacer_demo_tells_the_story_the_rules_tell(tmp_path: Path) -> None:
    """Issue 12's acceptance for seed 1, end to end (seeds 1-5 are replayed against the rules
    in tests/unit/test_demo_simulation.py): every alert the running Pacer raised during the
    demo is one the v2 rules raise on the same reports, with the same labels, once each, firing
    and resolving when the rules say (give or take the evaluation interval, the time to apply
    a report and the resolve hold), so no alert ever names a city without a part."""
    recorded = tmp_path / "story.json"
    result = run_demo(
        "--seed", "1", "--var-dir", str(tmp_path / "var"), "--record", str(recorded),
        "--seconds-per-month", str(SECONDS_PER_MONTH), timeout=420,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    story = json.loads(recorded.read_text())
    assert story["reports"] == {
        "accepted": 592, "duplicates": 0, "rejected": 0, "not_sent": 0, "after_due": 0,
    }  # fmt: skip

    targets = load_targets()
    scenario = simulate(targets, 1)
    ends = scenario.story_ends(targets.reporting.due_day)
    assert ends is not None
    expected = {e.labels: e for e in Replay(targets, scenario, ends - timedelta(days=1)).episodes}
    seen: dict[tuple[tuple[str, str], ...], list[dict[str, Any]]] = {}
    for alert in story["alerts"]:
        seen.setdefault(tuple(sorted(alert["labels"].items())), []).append(alert)
    cast = set(story["parts"])
    assert {a["labels"].get("city") for a in story["alerts"]} <= cast  # no province alert either
    assert set(seen) == set(expected), "\n".join(map(str, set(seen) ^ set(expected)))
    for labels, episode in expected.items():
        (alert,) = seen[labels]
        fired, resolved = _when(alert["fired"]), _when(alert["resolved"])
        assert fired is not None
        assert episode.fired <= fired <= episode.fired + FIRES_WITHIN, (labels, fired)
        if episode.resolved is None:
            assert resolved is None, labels
        else:
            assert resolved is not None, labels
            assert episode.resolved <= resolved <= episode.resolved + RESOLVES_WITHIN, labels
    counts = story["notifications"]
    assert counts["firing"] == len(expected) and counts["resolved"] == sum(
        e.resolved is not None for e in expected.values()
    )
    assert "Not in the story" not in result.stdout and "Where to look" in result.stdout


def test_demo_start_runs_its_own_pacer_and_stops_it(tmp_path: Path) -> None:
    var = tmp_path / "demo-var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACER_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    result = subprocess.run(
        [
            sys.executable, "-m", "services.cli", "demo", "--start", "--free-ports",
            "--var-dir", str(var), "--until", "2024-02", "--seconds-per-month", "1",
        ],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Reports: 80 accepted, 0 already there, 0 rejected, 0 not sent." in result.stdout
    assert (var / "tokens.secret").exists() and (var / "pacer-up.log").exists()
    metrics = re.search(r"metrics\s+http://127\.0\.0\.1:(\d+)/metrics", result.stdout)
    api = re.search(r"API docs\s+http://127\.0\.0\.1:(\d+)/docs", result.stdout)
    assert metrics and api, result.stdout
    for port in (int(metrics.group(1)), int(api.group(1))):  # pacer up and its services are gone
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
    assert "stopped ingest" in (var / "pacer-up.log").read_text()
