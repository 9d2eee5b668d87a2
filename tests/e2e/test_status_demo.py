"""``pacer status`` and ``pacer demo`` as a user runs them: real ``pacer up``, real CLI runs."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.cli.demo_simulation import FAILING_INDICATOR, simulate
from services.cli.demo_system import accelerated_clock, alert_timing_env
from shared.targets import load_targets
from tests.support.pacer_up import PacerUp
from tests.support.processes import REPO_ROOT, wait_until
from tests.support.reports import bearer, gigabit_report, site, sites_report
from tests.support.webhooks import WebhookReceiver

pytestmark = pytest.mark.slow

NOW = "2024-07-15T12:00:00+08:00"
SECONDS_PER_MONTH = 1.5
CLOCK_LEAD_S = 8.0
"""The accelerated clock reaches 2024-01-01 this long after the test launches pacer up."""


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


def notifications(receiver: WebhookReceiver) -> list[tuple[str, dict[str, Any]]]:
    """(status, alert) of every alert in every webhook received (a webhook carries a group's
    alerts, firing and resolved together: each alert has its own status)."""
    return [
        (alert["status"], alert)
        for body in map(_json, receiver.received)
        for alert in body["alerts"]
    ]


def _json(received: Any) -> dict[str, Any]:
    body: dict[str, Any] = received.json()
    return body


def seen(
    receiver: WebhookReceiver, status: str, alertname: str, city: str, **labels: str
) -> list[dict[str, Any]]:
    return [
        alert
        for got, alert in notifications(receiver)
        if got == status
        and alert["labels"]["alertname"] == alertname
        and alert["labels"].get("city") == city
        and all(alert["labels"].get(k) == v for k, v in labels.items())
    ]


def test_demo_against_a_running_pacer_ends_with_the_simulated_totals_and_the_alerts(
    start_pacer_up: Callable[..., PacerUp],
) -> None:
    env = alert_timing_env(SECONDS_PER_MONTH, resolve_hold_days=35)
    up = start_pacer_up(PACER_CLOCK=accelerated_clock(SECONDS_PER_MONTH, CLOCK_LEAD_S), **env)
    up.wait_all_ready()
    admin = up.tokens()["admin"]
    scenario = simulate(load_targets(), 1)
    roles = scenario.roles
    with (
        WebhookReceiver() as receiver,
        httpx.Client(base_url=up.url("ingest"), headers=bearer(admin), timeout=30) as api,
    ):
        subscription = {
            "url": receiver.url,
            "secret": "demo-test-secret-0123",
            "send_resolved": True,
        }
        assert api.post("/v1/subscriptions", json=subscription).status_code == 201

        result = cli("demo", "--seed", "1", api=up.url("ingest"), token=admin, timeout=180)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

        progress = api.get("/v1/progress").json()
        totals = {
            c: p["programs"]["5g-2025"]["sites"]["new"] for c, p in progress["cities"].items()
        }
        assert totals == scenario.new_in_service()

        def story_told() -> bool:
            return all(
                [
                    seen(receiver, "firing", "FiveGBehindPlan", roles.lagging),
                    seen(receiver, "firing", "FiveGTargetMissed", roles.lagging),
                    seen(receiver, "firing", "FiveGBehindPlan", roles.recovering),
                    seen(receiver, "resolved", "FiveGBehindPlan", roles.recovering),
                    seen(receiver, "firing", "ReportOverdue", roles.skipping, kind="5g-sites"),
                    seen(receiver, "firing", "ReportOverdue", roles.skipping, kind="gigabit"),
                    seen(receiver, "resolved", "ReportOverdue", roles.skipping, kind="5g-sites"),
                    seen(
                        receiver, "firing", "GigabitIndicatorBelowThreshold",
                        roles.gigabit_failing, indicator=FAILING_INDICATOR,
                    ),
                ]
            )  # fmt: skip

        wait_until(story_told, timeout=30, interval=0.5)
        active = api.get("/v1/alerts").json()

    skipped = str(roles.skipped_period)
    overdue = seen(receiver, "firing", "ReportOverdue", roles.skipping, kind="5g-sites")
    assert any(skipped in alert["annotations"]["summary"] for alert in overdue)
    # The recovering city's slump ends in a resolution late in 2024 or after, and nothing of it
    # is left at the end.
    ends = [
        datetime.fromisoformat(alert["endsAt"])
        for alert in seen(receiver, "resolved", "FiveGBehindPlan", roles.recovering)
    ]
    assert max(ends) >= datetime.fromisoformat("2024-10-01T00:00:00+08:00")
    assert not [
        a
        for a in active
        if a["labels"]["alertname"] == "FiveGBehindPlan"
        and a["labels"].get("city") == roles.recovering
    ]
    assert f"{roles.lagging}" in result.stdout and "Where to look" in result.stdout


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
    assert "Reports: 64 accepted, 0 already there, 0 rejected, 0 not sent." in result.stdout
    assert (var / "tokens.secret").exists() and (var / "pacer-up.log").exists()
    metrics = re.search(r"metrics\s+http://127\.0\.0\.1:(\d+)/metrics", result.stdout)
    api = re.search(r"API docs\s+http://127\.0\.0\.1:(\d+)/docs", result.stdout)
    assert metrics and api, result.stdout
    for port in (int(metrics.group(1)), int(api.group(1))):  # pacer up and its services are gone
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
    assert "stopped ingest" in (var / "pacer-up.log").read_text()
