"""After an AOF rewrite and a Redis restart, an idle pipeline reads as idle.

Found by the soak (tests/soak): Redis 7.0 restores a consumer group's entries-read counter from
the last AOF rewrite but its last-delivered id from the log after it, so ``XINFO GROUPS`` keeps
reporting as lag every entry read between the rewrite and the restart, for good. Pacer read that
as a backlog: the lag gauge never returned to 0 and ingest's backpressure could refuse every
report of an empty pipeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from redis.asyncio import Redis as AsyncRedis

from shared import names
from shared.store.streams import read_stream_stats
from tests.conftest import CITY_TOKENS
from tests.support.processes import RedisServer, Service, wait_until
from tests.support.reports import bearer, gigabit_report

pytestmark = pytest.mark.slow


def _read_and_ack(client: redis.Redis, count: int) -> str:
    """Entries written, read by the aggregator group and acknowledged; the last id."""
    ids = [client.xadd(names.REPORTS_STREAM, {"n": str(n)}) for n in range(count)]
    client.xreadgroup(names.AGGREGATOR_GROUP, "c", {names.REPORTS_STREAM: ">"}, count=count)
    client.xack(names.REPORTS_STREAM, names.AGGREGATOR_GROUP, *ids)
    return str(ids[-1])


@pytest.fixture
def restarted_after_rewrite(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    client = redis.Redis(port=server.port, decode_responses=True)
    for stream, groups in names.STREAM_GROUPS.items():
        for group in groups:
            client.xgroup_create(stream, group, "0", mkstream=True)
    _read_and_ack(client, 10)
    client.bgrewriteaof()
    wait_until(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0, timeout=10)
    last = _read_and_ack(client, 7)
    # Pacer trims what every group acknowledged (shared/store/trim.py).
    client.xtrim(names.REPORTS_STREAM, minid=last, approximate=False)
    client.xdel(names.REPORTS_STREAM, last)
    client.close()
    server.stop()
    yield server.start()
    server.stop()


def test_the_lag_of_a_caught_up_group_is_zero_after_a_restart(
    restarted_after_rewrite: RedisServer,
) -> None:
    async def stats() -> dict[str, int]:
        client = AsyncRedis(port=restarted_after_rewrite.port, decode_responses=True)
        try:
            read = await read_stream_stats(client)
        finally:
            await client.aclose()
        return {g.group: g.lag for g in read.groups if g.stream == names.REPORTS_STREAM}

    assert asyncio.run(stats()) == {names.AGGREGATOR_GROUP: 0}


def test_ingest_accepts_reports_into_an_empty_pipeline_after_a_restart(
    restarted_after_rewrite: RedisServer, tokens_file: Path, tmp_path: Path
) -> None:
    env = {
        "PACER_REDIS_URL": restarted_after_rewrite.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": "fixed:2024-07-15T12:00:00+08:00",
        "PACER_MAX_BACKLOG": "5",  # below the 7 entries a stale counter would report
    }
    ingest = Service("ingest", env, tmp_path / "ingest.log").start()
    try:
        response = httpx.post(
            f"{ingest.url}/v1/cities/jinan/reports/gigabit",
            json=gigabit_report({"household_gigabit_coverage_pct": 95}, period="2024-06",
                                as_of="2024-06-30"),
            headers=bearer(CITY_TOKENS["jinan"]),
            timeout=10,
        )  # fmt: skip
        assert response.status_code == 202, response.text
    finally:
        ingest.stop()
