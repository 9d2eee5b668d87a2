"""The aggregator under faults, on real processes: a kill -9 mid-stream, poison entries, races."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from shared import names
from shared.domain.state import ReportKind
from shared.wire import ProgressEvent, ReportEnvelope
from tests.conftest import ADMIN_TOKEN, CITY_TOKENS
from tests.support import sites as stored_sites
from tests.support.processes import RedisServer, Service, wait_until
from tests.support.reports import bearer, site, sites_report

ADMIN = bearer(ADMIN_TOKEN)
CITIES = ("jinan", "qingdao", "zibo", "linyi")


@pytest.fixture
def env(redis_server: RedisServer, tokens_file: Path, redis_client: redis.Redis) -> dict[str, str]:
    return {
        "PACER_REDIS_URL": redis_server.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": "fixed:2024-07-15T12:00:00+08:00",
        "PACER_RECLAIM_IDLE_MS": "1000",
        "PACER_MAX_ATTEMPTS": "3",
        "PACER_CONSUMER_NAME": "aggregator-test",
    }


@pytest.fixture
def ingest(env: dict[str, str], tmp_path: Path) -> Iterator[Service]:
    service = Service("ingest", env, tmp_path / "ingest.log").start()
    yield service
    service.stop()


def applied_count(redis_client: redis.Redis, reports: list[tuple[str, str]]) -> int:
    """``reports``: (city, report_id) pairs."""
    pipe = redis_client.pipeline()
    for city, report_id in reports:
        pipe.hget(names.report_key(city, report_id), "status")
    return sum(1 for status in pipe.execute() if status == "applied")


def in_service_by_city(redis_client: redis.Redis) -> dict[str, int]:
    return {
        city: sum(int(n) for n in redis_client.hgetall(names.city_site_days_key(city)).values())
        for city in CITIES
    }


def test_a_killed_aggregator_loses_nothing_and_counts_nothing_twice(
    env: dict[str, str], ingest: Service, redis_client: redis.Redis, tmp_path: Path
) -> None:
    reports: list[tuple[str, dict[str, Any]]] = []
    truth = dict.fromkeys(CITIES, 0)
    for number in range(100):
        city = CITIES[number % len(CITIES)]
        sites = [site(f"{city}-{number:03d}-{i:03d}") for i in range(100)]
        reports.append((city, sites_report(*sites, report_id=f"bulk-{number:03d}")))
        truth[city] += 100
    report_ids = [(city, body["report_id"]) for city, body in reports]

    aggregator = Service("aggregator", env, tmp_path / "aggregator.log").start()
    answers: list[int] = []

    def send_all() -> None:
        with httpx.Client(base_url=ingest.url, timeout=10, headers=ADMIN) as api:
            for city, body in reports:
                answers.append(
                    api.post(f"/v1/cities/{city}/reports/5g-sites", json=body).status_code
                )

    sender = threading.Thread(target=send_all)
    sender.start()
    try:
        wait_until(lambda: applied_count(redis_client, report_ids) >= 20, timeout=30)
        aggregator.kill()  # kill -9 while reports keep arriving
        killed_at = applied_count(redis_client, report_ids)
        sender.join(timeout=60)
        assert answers == [202] * 100
        assert killed_at < 100, "the kill must land before everything was applied"
        aggregator.start()
        wait_until(lambda: applied_count(redis_client, report_ids) == 100, timeout=60)
    finally:
        sender.join(timeout=5)
        aggregator.stop()

    assert in_service_by_city(redis_client) == truth
    assert stored_sites.held(redis_client) == 10_000
    assert redis_client.xpending(names.REPORTS_STREAM, names.AGGREGATOR_GROUP)["pending"] == 0
    assert redis_client.xlen(names.DEAD_LETTER_STREAM) == 0
    # one progress event per applied report, none twice, read as the alerting service reads it
    events = [ProgressEvent.from_fields(f) for _, f in redis_client.xrange(names.PROGRESS_STREAM)]
    assert sorted(e.report_id for e in events) == sorted(r for _, r in report_ids)
    assert {(e.city, e.kind) for e in events} <= {(c, ReportKind.SITES) for c, _ in report_ids}


def test_a_poison_entry_is_dead_lettered_after_n_attempts_and_does_not_block_the_rest(
    env: dict[str, str], ingest: Service, redis_client: redis.Redis, tmp_path: Path
) -> None:
    with httpx.Client(base_url=ingest.url, timeout=10, headers=ADMIN) as api:
        assert (
            api.post(
                "/v1/cities/jinan/reports/5g-sites",
                json=sites_report(site("JN-1"), report_id="before"),
            ).status_code
            == 202
        )
        # A report that passed ingest but cannot be applied: its stored payload is corrupt.
        poison = ReportEnvelope(
            "poison", "jinan", "5g-sites", datetime.now(UTC), '{"sites": "not a list"}'
        )  # type: ignore[arg-type]
        redis_client.hset(
            names.report_key("jinan", "poison"),
            mapping={
                "report_id": "poison",
                "city": "jinan",
                "kind": "5g-sites",
                "status": "accepted",
                "received_at": poison.received_at.isoformat(),
                "fingerprint": "x",
            },
        )
        redis_client.xadd(names.REPORTS_STREAM, poison.fields())
        redis_client.xadd(names.REPORTS_STREAM, {"garbage": "not a report at all"})
        assert (
            api.post(
                "/v1/cities/jinan/reports/5g-sites",
                json=sites_report(site("JN-2"), report_id="after"),
            ).status_code
            == 202
        )

        aggregator = Service("aggregator", env, tmp_path / "aggregator.log").start()
        try:
            applied = [("jinan", "before"), ("jinan", "after")]
            wait_until(lambda: applied_count(redis_client, applied) == 2, timeout=10)
            # the good reports did not wait for the poison's retries
            assert redis_client.xlen(names.DEAD_LETTER_STREAM) == 0
            wait_until(lambda: redis_client.xlen(names.DEAD_LETTER_STREAM) == 2, timeout=30)
        finally:
            aggregator.stop()
        record = api.get("/v1/reports/poison").json()

    dead = {
        fields.get("report_id", "-"): fields
        for _, fields in redis_client.xrange(names.DEAD_LETTER_STREAM)
    }
    assert dead["poison"]["attempts"] == "3"
    assert "ValidationError" in dead["poison"]["reason"]
    assert dead["poison"]["payload"] == '{"sites": "not a list"}'
    assert dead["-"]["garbage"] == "not a report at all"
    assert record["status"] == "rejected"
    assert "could not be applied in 3 attempts" in record["reason"]
    [error] = record["errors"]
    assert error["code"] == "dead_lettered" and error["loc"] == []
    assert error["message"] == record["reason"]
    # counted as a rejected report; the garbage entry was no report of any city
    assert redis_client.hgetall(names.REPORTS_REJECTED_KEY) == {"jinan|5g-sites|dead_lettered": "1"}
    assert redis_client.xpending(names.REPORTS_STREAM, names.AGGREGATOR_GROUP)["pending"] == 0
    assert in_service_by_city(redis_client)["jinan"] == 2


def test_two_cities_racing_for_site_ids_apply_the_first_and_reject_the_second_with_its_errors(
    env: dict[str, str], ingest: Service, redis_client: redis.Redis, tmp_path: Path
) -> None:
    shared_ids = [f"SHARED-{n:03d}" for n in range(150)]
    qingdao_sites = [site("QD-1", lat=36.07, lon=120.38)]
    qingdao_sites += [site(s, lat=36.07, lon=120.38) for s in shared_ids]
    with httpx.Client(base_url=ingest.url, timeout=10, headers=ADMIN) as api:
        # Both pass ingest: neither is registered until the aggregator applies one.
        first = sites_report(*(site(s) for s in shared_ids), report_id="claims")
        second = sites_report(*qingdao_sites, report_id="claims")
        assert api.post("/v1/cities/jinan/reports/5g-sites", json=first).status_code == 202
        assert api.post("/v1/cities/qingdao/reports/5g-sites", json=second).status_code == 202
        aggregator = Service("aggregator", env, tmp_path / "aggregator.log").start()
        try:
            wait_until(
                lambda: api.get("/v1/cities/qingdao/reports/claims").json()["status"] != "accepted",
                timeout=10,
            )
        finally:
            aggregator.stop()
        assert api.get("/v1/cities/jinan/reports/claims").json()["status"] == "applied"
        rejected = api.get("/v1/cities/qingdao/reports/claims").json()
        as_qingdao = api.get(
            "/v1/cities/qingdao/reports/claims", headers=bearer(CITY_TOKENS["qingdao"])
        ).json()

    assert rejected["status"] == "rejected"
    errors = rejected["errors"]
    assert len(errors) == 100  # contract §3: at most 100, the 100th says how many
    assert errors[0] == {
        "loc": ["body", "sites", 1, "site_id"],
        "code": "site_registered_elsewhere",
        "message": "site 'SHARED-000' is registered to jinan",
    }
    assert [e["loc"][2] for e in errors[:99]] == list(range(1, 100))
    assert errors[99] == {
        "loc": ["body", "sites"],
        "code": "too_many_errors",
        "message": "150 errors in all; the first 99 are listed",
    }
    # a city token learns that another city holds the sites, not which
    assert as_qingdao["errors"][0]["message"] == "site 'SHARED-000' is registered to another city"
    assert "jinan" not in json.dumps(as_qingdao)
    assert redis_client.hgetall(names.REPORTS_REJECTED_KEY) == {
        "qingdao|5g-sites|site_registered_elsewhere": "1"
    }
    assert stored_sites.owner(redis_client, "SHARED-001") == "jinan"
    assert stored_sites.owner(redis_client, "QD-1") is None  # rejected whole
    assert not redis_client.smembers(names.city_periods_key("qingdao", "5g-sites"))
    assert in_service_by_city(redis_client) == {"jinan": 150, "qingdao": 0, "zibo": 0, "linyi": 0}
    assert redis_client.xlen(names.DEAD_LETTER_STREAM) == 0  # a rejection is no dead letter


def test_reports_left_pending_by_a_dead_consumer_are_reclaimed(
    env: dict[str, str], ingest: Service, redis_client: redis.Redis, tmp_path: Path
) -> None:
    with httpx.Client(base_url=ingest.url, timeout=10, headers=ADMIN) as api:
        assert (
            api.post(
                "/v1/cities/zibo/reports/5g-sites",
                json=sites_report(site("ZB-1"), report_id="orphan"),
            ).status_code
            == 202
        )
    # A consumer that read the entry and died before acknowledging it.
    redis_client.xreadgroup(names.AGGREGATOR_GROUP, "crashed-pod", {names.REPORTS_STREAM: ">"})
    assert redis_client.xpending(names.REPORTS_STREAM, names.AGGREGATOR_GROUP)["pending"] == 1
    aggregator = Service("aggregator", env, tmp_path / "aggregator.log").start()
    try:
        wait_until(lambda: applied_count(redis_client, [("zibo", "orphan")]) == 1, timeout=15)
    finally:
        aggregator.stop()
    assert redis_client.xpending(names.REPORTS_STREAM, names.AGGREGATOR_GROUP)["pending"] == 0
    assert in_service_by_city(redis_client)["zibo"] == 1
