"""The alerting service with its real neighbours: Alertmanager, a restart mid-alert, filters."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, CITY_TOKENS
from tests.support.alertmanager import Alertmanager
from tests.support.processes import RedisServer, Service, wait_until
from tests.support.reports import bearer, gigabit_report
from tests.support.webhooks import WebhookReceiver

pytestmark = pytest.mark.slow

ADMIN = bearer(ADMIN_TOKEN)
NOW = "2024-07-15T12:00:00+08:00"  # nothing reported yet: every city is behind and overdue


@pytest.fixture
def env(redis_server: RedisServer, redis_client: Any, tokens_file: Path) -> dict[str, str]:
    return {
        "PACER_REDIS_URL": redis_server.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": f"fixed:{NOW}",
        "PACER_EVAL_INTERVAL": "1",
        "PACER_RESOLVE_HOLD": "0",
        "PACER_RECLAIM_IDLE_MS": "1000",
        "PACER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",  # the receiver is on loopback
    }


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as started:
        yield started


def bodies(receiver: WebhookReceiver) -> list[Any]:
    return [r.json() for r in receiver.received]


def names_of(bodies: list[Any]) -> list[tuple[str, str, str]]:
    """(status, alertname, program or kind) of each alert of each delivery, sorted."""
    summaries = []
    for body in bodies:
        assert len({group_of(a["labels"]) for a in body["alerts"]}) == 1, "one group a delivery"
        for alert in body["alerts"]:
            labels = alert["labels"]
            summaries.append(
                (alert["status"], labels["alertname"], labels.get("kind", labels.get("program")))
            )
    return sorted(summaries)


def group_of(labels: dict[str, str]) -> tuple[str, str | None]:
    return labels["alertname"], labels.get("program")


def alerts_received(receiver: WebhookReceiver) -> int:
    return sum(len(body["alerts"]) for body in bodies(receiver))


def test_a_restart_while_alerts_fire_sends_no_second_firing_and_still_the_resolution(
    env: dict[str, str], receiver: WebhookReceiver, tmp_path: Path
) -> None:
    ingest = Service("ingest", env, tmp_path / "ingest.log").start()
    aggregator = Service("aggregator", env, tmp_path / "aggregator.log").start()
    alerting = Service("alerting", env, tmp_path / "alerting.log")
    try:
        with httpx.Client(base_url=ingest.url, timeout=10) as api:
            subscription = {
                "url": receiver.url,
                "secret": "s" * 24,
                "filters": {"cities": ["jinan"]},
            }
            assert (
                api.post("/v1/subscriptions", json=subscription, headers=ADMIN).status_code == 201
            )
            alerting.start()
            # Jinan has sent nothing: v2 judges it no_data, and its only alerts are its two
            # overdue report kinds (no plan is judged without data).
            wait_until(lambda: alerts_received(receiver) >= 2, timeout=20)
            time.sleep(2)
            firing = names_of(bodies(receiver))
            groups = {group_of(a["labels"]) for b in bodies(receiver) for a in b["alerts"]}
            assert len(receiver.received) == len(groups), "one delivery per group"
            assert firing == [
                ("firing", "ReportOverdue", "5g-sites"),
                ("firing", "ReportOverdue", "gigabit"),
            ]
            assert alerting.process is not None
            os.kill(alerting.process.pid, signal.SIGKILL)
            alerting.process.wait()
            alerting.start()
            time.sleep(3)  # several evaluations after the restart
            assert names_of(bodies(receiver)) == firing, "no second firing after a restart"

            body = gigabit_report(
                {"household_gigabit_coverage_pct": 95, "pon_10g_port_share_pct": 30},
                period="2024-06", as_of="2024-06-30",
            )  # fmt: skip
            headers = bearer(CITY_TOKENS["jinan"])
            assert (
                api.post("/v1/cities/jinan/reports/gigabit", json=body, headers=headers).status_code
                == 202
            )
            wait_until(lambda: alerts_received(receiver) >= 3, timeout=20)
            time.sleep(2)
        assert names_of(bodies(receiver)) == sorted(
            [*firing, ("resolved", "ReportOverdue", "gigabit")]
        )
    finally:
        alerting.stop()
        aggregator.stop()
        ingest.stop()


def test_active_alerts_reach_alertmanager_with_the_contract_labels_and_are_routed(
    env: dict[str, str], receiver: WebhookReceiver, tmp_path: Path
) -> None:
    alertmanager = Alertmanager(
        tmp_path / "alertmanager",
        {
            "route": {
                "receiver": "pacer",
                "group_by": ["alertname", "city"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "pacer", "webhook_configs": [{"url": receiver.url}]}],
        },
    ).start()
    alerting = Service(
        "alerting", env | {"PACER_ALERTMANAGER_URL": alertmanager.url}, tmp_path / "alerting.log"
    )
    ingest = Service("ingest", env, tmp_path / "ingest.log")
    try:
        alerting.start()
        ingest.start()

        def overdue_in_alertmanager() -> list[dict[str, Any]]:
            wanted = {"alertname": "ReportOverdue", "city": "jinan"}
            return [a for a in alertmanager.alerts() if wanted.items() <= a["labels"].items()]

        wait_until(lambda: len(overdue_in_alertmanager()) == 2, timeout=20)
        labels = sorted(
            (a["labels"] for a in overdue_in_alertmanager()), key=lambda labels: labels["kind"]
        )
        assert labels == [
            {"alertname": "ReportOverdue", "severity": "warning", "city": "jinan", "kind": kind}
            for kind in ("5g-sites", "gigabit")
        ]
        assert all(a["status"]["state"] == "active" for a in overdue_in_alertmanager())
        assert all(
            a["annotations"]["summary"] and a["annotations"]["description"]
            for a in overdue_in_alertmanager()
        )
        # Alertmanager routes them to its webhook receiver, grouped by alertname and city.
        wait_until(
            lambda: any(
                b["groupLabels"] == {"alertname": "ReportOverdue", "city": "jinan"}
                for b in bodies(receiver)
            ),
            timeout=20,
        )
        # Pacer's own view agrees.
        with httpx.Client(base_url=ingest.url, timeout=10) as api:
            pacer_alerts = api.get("/v1/alerts", headers=ADMIN).json()
        fingerprints = {a["fingerprint"] for a in pacer_alerts}
        assert len(fingerprints) == len(pacer_alerts)
        # nobody has reported: every city is no_data, overdue on both kinds, and nothing else
        assert {a["labels"]["alertname"] for a in pacer_alerts} == {"ReportOverdue"}
        assert len(pacer_alerts) == 16 * 2
        assert all(a["state"] == "active" and a["startsAt"] for a in pacer_alerts)
    finally:
        ingest.stop()
        alerting.stop()
        alertmanager.stop()
