"""``PACER_REDIS_MIN_REPLICAS``: nothing is acknowledged before a replica holds it.

A real primary and a real replica on loopback; the replica is frozen (SIGSTOP) to stand for one
that has not received the latest writes: it stays connected, but acknowledges nothing. The
report and delivery tests fail without the ``WAIT`` they hold the code to, the script test
without the NOSCRIPT reload.

The duplicate's rewrite of its record is for Redis after 7.0: 7.0 (what runs here) makes a
``WAIT`` cover every write made before the connection's previous command, whoever made it, so
the retry below is unreplicated even without the rewrite; later versions count the connection's
own writes only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from redis.asyncio import Redis

from shared import names
from shared.store.connection import connect
from shared.store.deliveries import Deliveries, UnreplicatedError
from shared.store.groups import ensure_groups
from shared.store.replication import ReplicaQuorum, run_replicated
from shared.store.reports import ReportStore
from tests.conftest import CITY_TOKENS
from tests.integration.test_report_records import envelope
from tests.support.processes import RedisServer, ingest_running, wait_until
from tests.support.reports import bearer, site, sites_report

QUORUM = ReplicaQuorum(1, timeout_ms=300)


@pytest.fixture(scope="module")
def primary_and_replica(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RedisServer, RedisServer]]:
    directory = tmp_path_factory.mktemp("replication")
    primary = RedisServer(directory / "primary").start()
    replica = RedisServer(
        directory / "replica", extra_args=("--replicaof", "127.0.0.1", str(primary.port))
    ).start()
    try:
        wait_until(lambda: _link_up(replica), timeout=10)
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()


@pytest.fixture
async def primary(primary_and_replica: tuple[RedisServer, RedisServer]) -> AsyncIterator[Redis]:
    server, replica = primary_and_replica
    with redis.Redis(port=server.port) as admin:
        admin.flushall()
    wait_until(lambda: _caught_up(server, replica), timeout=10)
    client = connect(server.url)
    await ensure_groups(client)
    yield client
    await client.aclose()


@pytest.fixture
def replica(primary_and_replica: tuple[RedisServer, RedisServer]) -> redis.Redis:
    return redis.Redis(port=primary_and_replica[1].port, decode_responses=True)


@contextlib.contextmanager
def frozen(server: RedisServer) -> Iterator[None]:
    """The replica stays connected but receives and acknowledges nothing."""
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


async def test_a_report_is_accepted_once_the_replica_holds_it(
    primary: Redis, replica: redis.Redis
) -> None:
    report, fingerprint = envelope("jinan", "held-by-replica", "JN-1")
    outcome = await ReportStore(primary, quorum=QUORUM).accept(report, fingerprint, ["JN-1"])
    assert outcome.result == "accepted"
    # No waiting here: WAIT returned only once the replica had acknowledged the write.
    assert replica.hget(names.report_key("jinan", "held-by-replica"), "status") == "accepted"


async def test_a_report_the_replica_does_not_confirm_is_unreplicated_and_so_is_its_retry(
    primary: Redis, primary_and_replica: tuple[RedisServer, RedisServer], replica: redis.Redis
) -> None:
    report, fingerprint = envelope("jinan", "unconfirmed", "JN-2")
    first = ReportStore(primary, quorum=QUORUM)
    # A client that has written nothing: WAIT on its own would find nothing to wait for.
    fresh = connect(primary_and_replica[0].url)
    try:
        with frozen(primary_and_replica[1]):
            started = time.monotonic()
            outcome = await first.accept(report, fingerprint, ["JN-2"])
            assert outcome.result == "unreplicated"
            assert QUORUM.timeout_ms / 1000 <= time.monotonic() - started < 2
            # The retry finds the record (stored on the primary) but still no replica holds it:
            # the duplicate rewrites the record, so its WAIT covers it on any connection.
            retry = await ReportStore(fresh, quorum=QUORUM).accept(report, fingerprint, ["JN-2"])
            assert retry.result == "unreplicated"
        again = await ReportStore(fresh, quorum=QUORUM).accept(report, fingerprint, ["JN-2"])
        assert again.result == "duplicate"
        assert replica.hget(names.report_key("jinan", "unconfirmed"), "status") == "accepted"
    finally:
        await fresh.aclose()


async def test_without_a_quorum_a_report_is_accepted_whatever_the_replica(
    primary: Redis, primary_and_replica: tuple[RedisServer, RedisServer]
) -> None:
    report, fingerprint = envelope("jinan", "asynchronous", "JN-3")
    with frozen(primary_and_replica[1]):
        outcome = await ReportStore(primary).accept(report, fingerprint, ["JN-3"])
    assert outcome.result == "accepted"


async def test_deliveries_are_not_claimed_for_sending_before_the_replica_holds_them(
    primary: Redis, primary_and_replica: tuple[RedisServer, RedisServer]
) -> None:
    await primary.zadd(names.DELIVERIES_DUE_KEY, {"d-1": 100.0, "d-2": 101.0})
    store = Deliveries(primary, retention_s=60, quorum=QUORUM)
    with frozen(primary_and_replica[1]), pytest.raises(UnreplicatedError):
        await store.claim(now=200.0, lease_end=300.0, limit=10)
    # Handed back, due now: not leased away for the length of an attempt.
    assert await primary.zrange(names.DELIVERIES_DUE_KEY, 0, -1, withscores=True) == [
        ("d-1", 200.0),
        ("d-2", 200.0),
    ]
    assert sorted(await store.claim(now=201.0, lease_end=300.0, limit=10)) == ["d-1", "d-2"]


async def test_a_primary_without_the_script_loads_it_and_still_waits(primary: Redis) -> None:
    script = primary.register_script("return redis.call('INCR', KEYS[1])")
    assert await run_replicated(primary, script, ["n"], [], QUORUM) == (1, True)
    await primary.script_flush()  # as on a promoted replica: Redis 7 replicates no script
    assert await run_replicated(primary, script, ["n"], [], QUORUM) == (2, True)


def test_the_ingest_answers_503_with_retry_after_until_the_replica_confirms(
    primary_and_replica: tuple[RedisServer, RedisServer], tokens_file: Path, tmp_path: Path
) -> None:
    server, replica_server = primary_and_replica
    body = sites_report(site("JN-HTTP-1"), report_id="http-unconfirmed")
    headers = bearer(CITY_TOKENS["jinan"])
    with (
        ingest_running(server.url, tokens_file, tmp_path, PACER_REDIS_MIN_REPLICAS="1") as ingest,
        httpx.Client(base_url=ingest.url, timeout=10) as api,
    ):
        url = "/v1/cities/jinan/reports/5g-sites"
        with frozen(replica_server):
            refused = api.post(url, json=body, headers=headers)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "1"
        [error] = refused.json()["errors"]
        assert error["code"] == "replication_unconfirmed"
        retried = api.post(url, json=body, headers=headers)
        assert (retried.status_code, retried.json()["status"]) == (200, "duplicate")
        fresh = api.post(url, json=body | {"report_id": "http-confirmed"}, headers=headers)
        assert fresh.status_code == 202, fresh.text
        metrics = api.get("/metrics").text
        assert "pacer_ingest_unreplicated_rejections_total 1.0" in metrics


def _link_up(replica: RedisServer) -> bool:
    with redis.Redis(port=replica.port, decode_responses=True) as client:
        return bool(client.info("replication")["master_link_status"] == "up")


def _caught_up(primary: RedisServer, replica: RedisServer) -> bool:
    with (
        redis.Redis(port=primary.port) as p,
        redis.Redis(port=replica.port) as r,
    ):
        return bool(
            p.info("replication")["master_repl_offset"]
            == r.info("replication")["slave_repl_offset"]
        )
