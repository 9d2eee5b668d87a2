"""Alerts over a timeline, on real processes: each step fixes the clock, submits the month's
reports, starts the alerting service as of that instant, and checks exactly which notifications
the subscribers received."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.targets import DEFAULT_TARGETS_FILE
from tests.conftest import ADMIN_TOKEN, CITY_TOKENS
from tests.support.processes import RedisServer, Service, wait_until
from tests.support.reports import bearer, gigabit_report, site, sites_report
from tests.support.webhooks import WebhookReceiver

pytestmark = pytest.mark.slow

PASSING = {
    "household_gigabit_coverage_pct": 95,
    "pon_10g_port_share_pct": 30,
    "key_location_5g_reach_pct": 90,
    "bs_5g_per_10k": 20,
    "bb_500m_user_share_pct": 35,
    "user_5g_share_pct": 40,
}


def scenario_targets(directory: Path) -> Path:
    """Two cities with a quota of 730 new sites each (one a day, 2024-01-01 to 2025-12-31), on a
    linear plan: 730 * days / 731 new sites are planned by the end of a day."""
    doc = yaml.safe_load(DEFAULT_TARGETS_FILE.read_text(encoding="utf-8"))
    doc["cities"] = [
        c | {"quotas": {"5g-2025": 730}} for c in doc["cities"] if c["id"] in ("jinan", "qingdao")
    ]
    doc["site_baseline"].pop("province_sites")
    doc["programs"] = [p for p in doc["programs"] if p["id"] != "5g-2027"]
    rollout = doc["programs"][0]
    rollout["province_target_new"] = 1460
    for key in ("milestones", "milestones_provisional", "province_in_service_over"):
        rollout.pop(key, None)
    path = directory / "scenario-targets.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def sites(period: str, as_of: str, count: int, commissioned_on: str) -> dict[str, Any]:
    ids = [
        site(f"JN-{commissioned_on}-{n:03d}", commissioned_on=commissioned_on) for n in range(count)
    ]
    return sites_report(*ids, period=period, as_of=as_of, report_id=f"jn-5g-{period}-{as_of}")


def gigabit(period: str, as_of: str, **overrides: float) -> dict[str, Any]:
    return gigabit_report(
        PASSING | overrides, period=period, as_of=as_of, report_id=f"jn-gig-{period}"
    )


@dataclass(frozen=True)
class Step:
    now: str
    site_reports: list[dict[str, Any]]
    gigabit_reports: list[dict[str, Any]]
    expected: list[tuple[str, str, str]]
    """(status, alertname, severity) of each alert the jinan subscriber receives at this step,
    in one delivery per group (here: per alertname, each has one program)."""


# Each step's numbers are judged at the day its reports cover (contract §1.1): the latest as_of,
# or the last day of the latest month past due if that is later.
STEPS = [
    Step(  # judged at 2024-04-14: 115 new sites against 730 * 105/731 = 104.9 planned
        "2024-04-15T12:00:00+08:00",
        [
            sites("2024-01", "2024-01-31", 35, "2024-01-20"),
            sites("2024-02", "2024-02-29", 35, "2024-02-20"),
            sites("2024-03", "2024-03-31", 35, "2024-03-20"),
            sites("2024-04", "2024-04-14", 10, "2024-04-10"),
        ],
        [gigabit("2024-03", "2024-03-31"), gigabit("2024-04", "2024-04-14")],
        [],
    ),
    Step(  # 2024-07-14: 157 against 195.7 (0.80); 42 sites in 90 days would take until 2027
        "2024-07-15T12:00:00+08:00",
        [
            sites("2024-05", "2024-05-31", 21, "2024-05-20"),
            sites("2024-06", "2024-06-30", 21, "2024-06-20"),
            sites("2024-07", "2024-07-14", 0, "2024-07-01"),
        ],
        [
            gigabit("2024-05", "2024-05-31"),
            gigabit("2024-06", "2024-06-30"),
            gigabit("2024-07", "2024-07-14"),
        ],
        [("firing", "FiveGBehindPlan", "warning"), ("firing", "FiveGProjectedMiss", "warning")],
    ),
    Step(  # 2024-10-14: 201 against 287.6 (0.70): critical is added, the warning stays
        "2024-10-15T12:00:00+08:00",
        [
            sites("2024-08", "2024-08-31", 22, "2024-08-20"),
            sites("2024-09", "2024-09-30", 22, "2024-09-10"),
            sites("2024-10", "2024-10-14", 0, "2024-10-01"),
        ],
        [
            gigabit("2024-08", "2024-08-31"),
            gigabit("2024-09", "2024-09-30"),
            gigabit("2024-10", "2024-10-14"),
        ],
        [("firing", "FiveGBehindPlan", "critical")],
    ),
    Step(  # 2024-12-19: 341 against 353.5 (0.96), 1.56 sites a day finishes in August 2025;
        # December's household coverage of 75 fails "> 80": a warning before the deadline
        "2024-12-20T12:00:00+08:00",
        [
            sites("2024-10", "2024-10-31", 50, "2024-10-20"),
            sites("2024-11", "2024-11-30", 50, "2024-11-20"),
            sites("2024-12", "2024-12-19", 40, "2024-12-15"),
        ],
        [
            gigabit("2024-11", "2024-11-30"),
            gigabit("2024-12", "2024-12-19", household_gigabit_coverage_pct=75),
        ],
        [
            ("resolved", "FiveGBehindPlan", "critical"),
            ("resolved", "FiveGBehindPlan", "warning"),
            ("resolved", "FiveGProjectedMiss", "warning"),
            ("firing", "GigabitIndicatorBelowThreshold", "warning"),
        ],
    ),
    Step(  # December is past due: gigabit-2024 is judged finally at 2024-12-31 on the values in
        # force then; January's passing value (as of 2025-01-14) comes too late to count
        "2025-01-15T12:00:00+08:00",
        [sites("2025-01", "2025-01-14", 10, "2025-01-05")],
        [gigabit("2025-01", "2025-01-14")],
        [
            ("firing", "GigabitIndicatorBelowThreshold", "critical"),
            ("firing", "GigabitStandardNotMet", "critical"),
        ],
    ),
    Step(  # 2025-02-28: 451 against 424.4; no gigabit report is required for 2025 months
        "2025-03-10T23:00:00+08:00",
        [sites("2025-02", "2025-02-28", 100, "2025-02-10")],
        [],
        [],
    ),
    Step(  # half an hour after the 10 April due day, no March 5G report: overdue
        "2025-04-11T00:30:00+08:00",
        [],
        [],
        [("firing", "ReportOverdue", "warning")],
    ),
    Step(  # the reports through November arrive: judged at 2025-11-30, 600 against 698.0 (0.86)
        # and 1.66 sites a day finish only in February; nothing is final before December's
        # report is due, so no FiveGTargetMissed yet
        "2026-01-05T12:00:00+08:00",
        [sites(f"2025-{m:02d}", f"2025-{m:02d}-28", 0, f"2025-{m:02d}-01") for m in range(3, 11)]
        + [sites("2025-11", "2025-11-30", 149, "2025-11-15")],
        [],
        [
            ("resolved", "ReportOverdue", "warning"),
            ("firing", "FiveGBehindPlan", "warning"),
            ("firing", "FiveGProjectedMiss", "warning"),
        ],
    ),
    Step(  # December's report is past due: judged at the deadline, 130 short; December missing
        # closes 5g-2025, so the overdue report is critical as well
        "2026-01-11T00:30:00+08:00",
        [],
        [],
        [
            ("firing", "FiveGTargetMissed", "critical"),
            ("resolved", "FiveGBehindPlan", "warning"),
            ("resolved", "FiveGProjectedMiss", "warning"),
            ("firing", "ReportOverdue", "warning"),
            ("firing", "ReportOverdue", "critical"),
        ],
    ),
]


@pytest.fixture
def receivers() -> Iterator[dict[str, WebhookReceiver]]:
    with WebhookReceiver() as jinan, WebhookReceiver() as qingdao:
        yield {"jinan": jinan, "qingdao": qingdao}


def bodies(receiver: WebhookReceiver) -> list[Any]:
    return [r.json() for r in receiver.received]


def alerts_of(bodies: list[Any]) -> list[dict[str, Any]]:
    return [alert for body in bodies for alert in body["alerts"]]


def summary(alert: dict[str, Any]) -> tuple[str, str, str]:
    return (alert["status"], alert["labels"]["alertname"], alert["labels"]["severity"])


def test_subscribers_receive_exactly_the_notifications_of_the_timeline(
    redis_server: RedisServer,
    redis_client: Any,
    tokens_file: Path,
    tmp_path: Path,
    receivers: dict[str, WebhookReceiver],
) -> None:
    base_env = {
        "PACER_REDIS_URL": redis_server.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_TARGETS_FILE": str(scenario_targets(tmp_path)),
        "PACER_EVAL_INTERVAL": "1",
        "PACER_RESOLVE_HOLD": "0",
        "PACER_REPEAT_INTERVAL": str(10 * 365 * 86400),  # the clock jumps months: no reminders here
        "PACER_RECLAIM_IDLE_MS": "1000",
        "PACER_DELIVERY_BACKOFF_S": "0.1",
        "PACER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",  # the receivers are on loopback
    }
    aggregator = Service("aggregator", base_env, tmp_path / "aggregator.log").start()
    admin = bearer(ADMIN_TOKEN)
    jinan = bearer(CITY_TOKENS["jinan"])
    ingest: Service | None = None
    alerting: Service | None = None
    try:
        for step_number, step in enumerate(STEPS, start=1):
            env = base_env | {"PACER_CLOCK": f"fixed:{step.now}"}
            ingest = Service("ingest", env, tmp_path / "ingest.log").start()
            with httpx.Client(base_url=ingest.url, timeout=30) as api:
                if step_number == 1:
                    for city, receiver in receivers.items():
                        subscription = {
                            "url": receiver.url,
                            "secret": f"{city}-secret-0123456789",
                            "filters": {"cities": [city]},
                        }
                        assert (
                            api.post(
                                "/v1/subscriptions", json=subscription, headers=admin
                            ).status_code
                            == 201
                        )
                ids = []
                for body in step.site_reports:
                    assert (
                        api.post(
                            "/v1/cities/jinan/reports/5g-sites", json=body, headers=jinan
                        ).status_code
                        == 202
                    )
                    ids.append(body["report_id"])
                for body in step.gigabit_reports:
                    assert (
                        api.post(
                            "/v1/cities/jinan/reports/gigabit", json=body, headers=jinan
                        ).status_code
                        == 202
                    )
                    ids.append(body["report_id"])
                wait_until(
                    lambda api=api, ids=ids: all(
                        api.get(f"/v1/reports/{i}", headers=admin).json()["status"] == "applied"
                        for i in ids
                    ),
                    timeout=20,
                )
            ingest.stop()
            # The alerting service evaluates as of this step's instant.
            before = len(receivers["jinan"].received)
            expected_total = len(alerts_of(bodies(receivers["jinan"]))) + len(step.expected)
            alerting = Service("alerting", env, tmp_path / "alerting.log").start()
            wait_until(
                lambda n=expected_total: len(alerts_of(bodies(receivers["jinan"]))) >= n,
                timeout=20,
            )
            time.sleep(2.5)  # two more evaluations: nothing else may arrive
            alerting.stop()
            step_bodies = bodies(receivers["jinan"])[before:]
            got = sorted(summary(a) for a in alerts_of(step_bodies))
            assert got == sorted(step.expected), f"step {step_number} ({step.now})"
            # One delivery per group, and every alertname here has one program: one per name.
            groups = {json.dumps(b["groupLabels"], sort_keys=True) for b in step_bodies}
            assert len(step_bodies) == len(groups) == len({name for _, name, _ in step.expected})
    finally:
        for service in (alerting, ingest, aggregator):
            if service is not None:
                service.stop()

    jinan_alerts = alerts_of(bodies(receivers["jinan"]))
    assert all(a["labels"]["city"] == "jinan" for a in jinan_alerts)
    qingdao_alerts = alerts_of(bodies(receivers["qingdao"]))
    assert qingdao_alerts, "qingdao reports nothing: its subscriber hears about it"
    assert all(a["labels"]["city"] == "qingdao" for a in qingdao_alerts)
    assert {a["labels"]["alertname"] for a in qingdao_alerts} == {"ReportOverdue"}  # no data
    overdue = next(a for a in jinan_alerts if a["labels"]["alertname"] == "ReportOverdue")
    assert overdue["labels"]["kind"] == "5g-sites"
    assert "program" not in overdue["labels"]
    missed = next(a for a in jinan_alerts if a["labels"]["alertname"] == "FiveGTargetMissed")
    assert "actual 600 new sites" in missed["annotations"]["description"]
    assert "target 730 new sites" in missed["annotations"]["description"]
