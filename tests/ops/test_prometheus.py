"""Prometheus: the scrape config, recording and pipeline alert rules, checked by promtool and a
real Prometheus."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from tests.support.processes import free_port, require_binary
from tests.support.prometheus import (
    CONFIG_FILE,
    PROMETHEUS_DIR,
    RULE_FILES,
    SCRAPED_JOBS,
    Prometheus,
    scrape_config,
)

RULE_TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))

RECORDING_RULES = {
    "pacer:province_5g_sites_new:sum",
    "pacer:province_5g_sites_planned_new:sum",
    "pacer:province_5g_sites_target_new:sum",
    "pacer:province_5g_attainment:ratio",
    "pacer:province_5g_sites_in_service:sum",
    "pacer:province_gigabit_cities_met:sum",
    "pacer:alerts_firing:sum",
    "pacer:ingest_requests:rate5m",
    "pacer:ingest_5xx:ratio5m",
}
PIPELINE_ALERTS = {
    "PacerServiceDown",
    "PacerStreamLagGrowing",
    "PacerPendingGrowing",
    "PacerDeadLetters",
    "PacerIngestErrorRatio",
    "PacerIngestBackpressure",
    "PacerNoReportsReceived",
}
TARGET_SLIP_ALERT = re.compile(r"^(FiveG|Gigabit)|^ReportOverdue$")
"""Pacer's alerting service raises these into Alertmanager itself."""


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_binary("promtool"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rules() -> list[dict[str, Any]]:
    return [
        rule for path in RULE_FILES for group in load(path)["groups"] for rule in group["rules"]
    ]


def alert_rules() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def unit_tests() -> list[dict[str, Any]]:
    return [case for path in RULE_TEST_FILES for case in load(path)["tests"]]


# promtool ---------------------------------------------------------------------------------------


def test_scrape_config_passes_promtool_check_config() -> None:
    result = promtool("check", "config", CONFIG_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout


def test_rule_files_pass_promtool_check_rules() -> None:
    result = promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass_promtool_test_rules() -> None:
    assert RULE_TEST_FILES
    result = promtool("test", "rules", *RULE_TEST_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


# What the files say ------------------------------------------------------------------------------


def test_scrape_config_scrapes_each_service_under_its_job_name_and_alerts_alertmanager() -> None:
    config = load(CONFIG_FILE)
    targets = {
        job["job_name"]: [t for static in job["static_configs"] for t in static["targets"]]
        for job in config["scrape_configs"]
    }
    assert targets == {
        "pacer-ingest": ["ingest:8000"],
        "pacer-aggregator": ["aggregator:8001"],
        "pacer-alerting": ["alerting:8002"],
        "pacer-exporter": ["exporter:9108"],
        "pacer-portal": ["portal:8003"],
    }
    assert set(targets) == set(SCRAPED_JOBS)
    assert config["global"]["scrape_interval"] == "15s"
    alertmanagers = config["alerting"]["alertmanagers"]
    assert alertmanagers == [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]
    rule_files = [(CONFIG_FILE.parent / name).resolve() for name in config["rule_files"]]
    assert rule_files == [path.resolve() for path in RULE_FILES]


def test_recording_rules_are_exactly_the_names_the_dashboards_query() -> None:
    records = [rule["record"] for rule in rules() if "record" in rule]
    assert sorted(records) == sorted(RECORDING_RULES)


def test_alert_rules_are_the_pipeline_alerts_only() -> None:
    assert {rule["alert"] for rule in alert_rules()} == PIPELINE_ALERTS


def test_no_rule_duplicates_pacer_target_slip_alerts() -> None:
    names = [str(rule.get("alert") or rule["record"]) for rule in rules()]
    assert [name for name in names if TARGET_SLIP_ALERT.search(name)] == []
    assert all(rule["labels"]["component"] == "pipeline" for rule in alert_rules())


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_each_pipeline_alert_has_a_severity_and_shows_its_numbers(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["labels"]["component"] == "pipeline"
    annotations = rule["annotations"]
    assert set(annotations) >= {"summary", "description"}
    assert "{{ $labels." in annotations["summary"] or "{{ $value" in annotations["summary"]
    assert "{{ $value" in annotations["description"]


@pytest.mark.parametrize("alertname", sorted(PIPELINE_ALERTS))
def test_each_alert_has_a_unit_test_that_fires_and_one_that_does_not(alertname: str) -> None:
    fires, quiet = False, False
    for case in unit_tests():
        checks = [c for c in case.get("alert_rule_test", []) if c["alertname"] == alertname]
        if not checks:
            continue
        expected = [alert for check in checks for alert in check.get("exp_alerts") or []]
        if expected:
            fires = True
            for alert in expected:
                assert alert["exp_labels"]["component"] == "pipeline", case["name"]
                assert set(alert["exp_annotations"]) == {"summary", "description"}, case["name"]
        else:
            quiet = True
    assert fires, f"no unit test where {alertname} fires"
    assert quiet, f"no unit test where {alertname} stays quiet"


def test_each_recording_rule_has_its_value_checked() -> None:
    checked = {
        check["expr"].strip() for case in unit_tests() for check in case.get("promql_expr_test", [])
    }
    assert checked >= RECORDING_RULES


def test_unit_tests_load_the_repository_rule_files() -> None:
    for path in RULE_TEST_FILES:
        for name in load(path)["rule_files"]:
            assert (path.parent / name).resolve() in {rule.resolve() for rule in RULE_FILES}


# A real Prometheus -------------------------------------------------------------------------------


@pytest.fixture
def exporter_port() -> Iterator[int]:
    """A stand-in exporter: a few of the exporter's gauges for two cities, on a loopback port."""
    registry = CollectorRegistry()
    new = Gauge("pacer_5g_sites_new", "", ["city", "program"], registry=registry)
    planned = Gauge("pacer_5g_sites_planned_new", "", ["city", "program"], registry=registry)
    new.labels("jinan", "5g-2025").set(1200)
    new.labels("qingdao", "5g-2025").set(800)
    planned.labels("jinan", "5g-2025").set(2000)
    planned.labels("qingdao", "5g-2025").set(3000)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield port
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_real_prometheus_records_province_totals_and_evaluates_pipeline_alerts(
    tmp_path: Path, exporter_port: int
) -> None:
    nothing_listening = free_port()
    config = scrape_config({"pacer-exporter": exporter_port, "pacer-ingest": nothing_listening})

    with Prometheus(tmp_path / "prometheus", config) as prometheus:
        [total] = prometheus.wait_for_data('pacer:province_5g_sites_new:sum{program="5g-2025"}')
        assert float(total["value"][1]) == 2000
        [ratio] = prometheus.wait_for_data("pacer:province_5g_attainment:ratio")
        assert ratio["metric"]["program"] == "5g-2025"
        assert float(ratio["value"][1]) == pytest.approx(0.4)

        # The ingest target is down: PacerServiceDown is pending (it fires after a minute).
        [pending] = prometheus.wait_for_data('ALERTS{alertname="PacerServiceDown"}')
        assert pending["metric"]["alertstate"] == "pending"
        assert pending["metric"]["service"] == "ingest"

        loaded = [rule for group in prometheus.rule_groups() for rule in group["rules"]]
        assert {rule["name"] for rule in loaded} == RECORDING_RULES | PIPELINE_ALERTS
        assert [r["name"] for r in loaded if r["health"] == "err"] == []
