"""Trimming a stream never drops an entry some consumer group has not yet read and acknowledged.

Against a real redis-server: the aggregator's upkeep runs ``trim_acknowledged`` on every stream
with consumer groups, while consumers read, fail and acknowledge in any order.
"""

from __future__ import annotations

import asyncio
import random
from typing import cast

import redis

from shared.store.connection import connect
from shared.store.trim import trim_acknowledged
from tests.support.processes import RedisServer

STREAM = "test:trim"


def trim(server: RedisServer) -> int:
    async def run() -> int:
        client = connect(server.url)
        try:
            return await trim_acknowledged(client, STREAM)
        finally:
            await client.aclose()

    return asyncio.run(run())


def add(client: redis.Redis, count: int) -> list[str]:
    return [str(client.xadd(STREAM, {"n": str(n)})) for n in range(count)]


def read(client: redis.Redis, group: str, count: int) -> list[str]:
    reply = cast(
        list[tuple[str, list[tuple[str, dict[str, str]]]]],
        client.xreadgroup(group, f"{group}-consumer", {STREAM: ">"}, count=count),
    )
    return [entry_id for _, entries in reply for entry_id, _ in entries]


def stored(client: redis.Redis) -> list[str]:
    entries = cast(list[tuple[str, dict[str, str]]], client.xrange(STREAM))
    return [entry_id for entry_id, _ in entries]


def test_entries_no_group_has_read_yet_are_kept(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    redis_client.xgroup_create(STREAM, "g", id="0", mkstream=True)
    ids = add(redis_client, 5)
    redis_client.xack(STREAM, "g", *read(redis_client, "g", 2))

    assert trim(redis_server) == 2
    assert stored(redis_client) == ids[2:]
    assert read(redis_client, "g", 10) == ids[2:]


def test_an_unacknowledged_entry_is_kept_with_everything_after_it(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    redis_client.xgroup_create(STREAM, "g", id="0", mkstream=True)
    ids = add(redis_client, 5)
    read(redis_client, "g", 5)
    redis_client.xack(STREAM, "g", ids[0], *ids[2:])  # ids[1] failed: still pending

    assert trim(redis_server) == 1
    assert stored(redis_client) == ids[1:]
    _, claimed, _ = redis_client.xautoclaim(STREAM, "g", "reclaimer", min_idle_time=0)
    assert [entry_id for entry_id, _ in claimed][:1] == [ids[1]]


def test_the_slowest_group_decides_what_is_kept(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    for group in ("fast", "slow"):
        redis_client.xgroup_create(STREAM, group, id="0", mkstream=True)
    ids = add(redis_client, 4)
    redis_client.xack(STREAM, "fast", *read(redis_client, "fast", 4))

    assert trim(redis_server) == 0
    assert stored(redis_client) == ids


def test_a_stream_without_groups_or_without_entries_is_left_alone(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    assert trim(redis_server) == 0  # no stream at all
    ids = add(redis_client, 3)
    assert trim(redis_server) == 0  # a stream no group consumes
    assert stored(redis_client) == ids


def test_trimming_between_random_reads_acks_and_appends_never_drops_an_unprocessed_entry(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    groups = ("aggregator", "audit")
    for group in groups:
        redis_client.xgroup_create(STREAM, group, id="0", mkstream=True)
    unprocessed: dict[str, set[str]] = {group: set() for group in groups}
    delivered: dict[str, list[str]] = {group: [] for group in groups}
    rng = random.Random(7)
    removed = 0

    for _ in range(300):
        action = rng.random()
        group = rng.choice(groups)
        if action < 0.35:
            for entry_id in add(redis_client, rng.randint(1, 3)):
                for name in groups:
                    unprocessed[name].add(entry_id)
        elif action < 0.6:
            delivered[group] += read(redis_client, group, rng.randint(1, 4))
        elif action < 0.85 and delivered[group]:
            # Acknowledge a random delivered entry: consumers finish out of order.
            entry_id = delivered[group].pop(rng.randrange(len(delivered[group])))
            redis_client.xack(STREAM, group, entry_id)
            unprocessed[group].discard(entry_id)
        else:
            removed += trim(redis_server)
        still_needed = set().union(*unprocessed.values())
        assert still_needed <= set(stored(redis_client))

    assert removed > 0  # it did trim along the way, not merely keep everything
    for group in groups:  # both groups catch up: then nothing is needed and all goes
        delivered[group] += read(redis_client, group, 10_000)
        redis_client.xack(STREAM, group, *delivered[group])
    trim(redis_server)
    assert stored(redis_client) == []
