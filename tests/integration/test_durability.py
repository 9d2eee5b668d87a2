"""Durability: with AOF fsynced every second, a Redis killed with -9 loses no report that was
answered 202 more than a second before, and each is applied exactly once after the restart.

Real redis-server (appendonly yes, appendfsync everysec), real ingest and aggregator processes.
Neither service is restarted: both must find Redis again by themselves.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from shared import names
from tests.conftest import ADMIN_TOKEN, CITY_TOKENS
from tests.support.processes import RedisServer, Service, wait_until
from tests.support.reports import bearer, site, sites_report

ADMIN = bearer(ADMIN_TOKEN)
TOKENS = {city: bearer(token) for city, token in CITY_TOKENS.items()}
FSYNC_WINDOW_S = 1.0
"""appendfsync everysec: what a crash may lose is at most this much of the latest writes."""


@pytest.fixture
def redis_with_aof(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", appendonly=True)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def pipeline(
    redis_with_aof: RedisServer, tokens_file: Path, tmp_path: Path
) -> Iterator[dict[str, Service]]:
    env = {
        "PACER_REDIS_URL": redis_with_aof.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": "fixed:2024-07-15T12:00:00+08:00",
        "PACER_RECLAIM_IDLE_MS": "1000",
    }
    started = {
        name: Service(name, env, tmp_path / f"{name}.log") for name in ("ingest", "aggregator")
    }
    try:
        for service in started.values():
            service.start()
        yield started
    finally:
        for service in started.values():
            if service.process is not None and service.process.poll() is None:
                service.process.send_signal(signal.SIGCONT)  # a frozen process cannot stop
            service.stop()


def report(city: str, report_id: str, *site_ids: str) -> dict[str, Any]:
    return sites_report(*(site(site_id) for site_id in site_ids), report_id=report_id)


def submit(api: httpx.Client, city: str, body: dict[str, Any]) -> httpx.Response:
    return api.post(f"/v1/cities/{city}/reports/5g-sites", json=body, headers=TOKENS[city])


def status_of(api: httpx.Client, report_id: str) -> str | None:
    response = api.get(f"/v1/reports/{report_id}", headers=ADMIN)
    return str(response.json()["status"]) if response.status_code == 200 else None


def sites_in_service(api: httpx.Client, city: str) -> int:
    return int(api.get(f"/v1/cities/{city}/progress", headers=ADMIN).json()["sites_in_service"])


def test_a_redis_crash_loses_no_report_answered_more_than_a_second_before_and_applies_each_once(
    redis_with_aof: RedisServer, pipeline: dict[str, Service]
) -> None:
    ingest, aggregator = pipeline["ingest"], pipeline["aggregator"]
    assert aggregator.process is not None
    client = redis.Redis(port=redis_with_aof.port, decode_responses=True)
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
    client.close()
    # Each city's site ids; later reports repeat earlier sites, which must still count once.
    sites: dict[str, set[str]] = {"jinan": set(), "qingdao": set()}
    accepted: list[str] = []

    with httpx.Client(base_url=ingest.url, timeout=10) as api:
        baseline = {city: sites_in_service(api, city) for city in sites}

        def send(city: str, report_id: str, *site_ids: str) -> None:
            response = submit(api, city, report(city, report_id, *site_ids))
            assert response.status_code == 202, response.text
            accepted.append(report_id)
            sites[city].update(site_ids)

        # Applied before the crash.
        for n in range(10):
            send("jinan", f"applied-{n}", f"JN-{n}", f"JN-{n + 1}")
        wait_until(
            lambda: all(status_of(api, r) == "applied" for r in accepted), timeout=15, interval=0.2
        )

        # Accepted but still waiting in the stream at the crash: the aggregator is frozen.
        aggregator.process.send_signal(signal.SIGSTOP)
        for n in range(10):
            send("jinan", f"queued-jn-{n}", f"JN-{n + 5}", f"JN-{n + 20}")
            send("qingdao", f"queued-qd-{n}", f"QD-{n}", f"QD-{n + 1}")
        time.sleep(FSYNC_WINDOW_S + 0.5)
        redis_with_aof.kill()

        during = submit(api, "jinan", report("jinan", "after-crash", "JN-AFTER"))
        assert during.status_code == 503
        assert during.json()["errors"][0]["code"] == "storage_unavailable"

        redis_with_aof.start()
        aggregator.process.send_signal(signal.SIGCONT)

        # The client's retry of the refused report gets in once ingest has reconnected.
        wait_until(
            lambda: (
                submit(api, "jinan", report("jinan", "after-crash", "JN-AFTER")).status_code
                in (200, 202)  # 200: an earlier try was stored though its answer was lost
            ),
            timeout=10,
        )
        accepted.append("after-crash")
        sites["jinan"].add("JN-AFTER")

        wait_until(
            lambda: all(status_of(api, r) == "applied" for r in accepted), timeout=30, interval=0.2
        )
        for city, site_ids in sites.items():
            assert sites_in_service(api, city) == baseline[city] + len(site_ids), city
        created = sum(
            api.get(f"/v1/reports/{r}", headers=ADMIN).json()["summary"]["created"]
            for r in accepted
        )
        assert created == sum(len(site_ids) for site_ids in sites.values())

    assert ingest.process is not None and ingest.process.poll() is None
    assert aggregator.process.poll() is None
    client = redis.Redis(port=redis_with_aof.port, decode_responses=True)
    try:
        for report_id in accepted:  # each id is one city's
            statuses = {client.hget(names.report_key(c, report_id), "status") for c in sites}
            assert statuses == {"applied", None}, report_id
        # Every entry acknowledged: nothing left to apply twice later.
        [group] = client.xinfo_groups(names.REPORTS_STREAM)
        assert group["pending"] == 0
        # One progress event per applied report: none was applied twice.
        assert client.xinfo_stream(names.PROGRESS_STREAM)["entries-added"] == len(accepted)
    finally:
        client.close()
