"""Consumers that left (a pod name from before a rollout) are forgotten; none with work is."""

from __future__ import annotations

import asyncio
import time

import redis

from shared.store.connection import connect
from shared.store.consumers import forget_departed_consumers
from tests.support.processes import RedisServer

STREAM = "test:consumers"
GROUP = "aggregator"


def forget(server: RedisServer, stale_after_ms: int) -> list[str]:
    async def run() -> list[str]:
        client = connect(server.url)
        try:
            return await forget_departed_consumers(client, STREAM, stale_after_ms=stale_after_ms)
        finally:
            await client.aclose()

    return asyncio.run(run())


def consumers(client: redis.Redis) -> set[str]:
    return {str(c["name"]) for c in client.xinfo_consumers(STREAM, GROUP)}


def test_an_idle_consumer_without_pending_entries_is_forgotten_and_a_busy_one_is_kept(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    redis_client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    for n in range(3):
        redis_client.xadd(STREAM, {"n": str(n)})
    # old-pod-a read and acknowledged its entry; old-pod-b read one and died holding it.
    [(_, [(acked, _)])] = redis_client.xreadgroup(GROUP, "old-pod-a", {STREAM: ">"}, count=1)
    redis_client.xack(STREAM, GROUP, acked)
    redis_client.xreadgroup(GROUP, "old-pod-b", {STREAM: ">"}, count=1)
    time.sleep(0.5)  # old pods idle 500 ms; new-pod idle far less than the 250 ms threshold
    [(_, [(fresh, _)])] = redis_client.xreadgroup(GROUP, "new-pod", {STREAM: ">"}, count=1)
    redis_client.xack(STREAM, GROUP, fresh)  # nothing pending, but active just now

    assert forget(redis_server, stale_after_ms=250) == [f"{GROUP}/old-pod-a"]

    # old-pod-b keeps its pending entry for the reclaimer; new-pod is alive.
    assert consumers(redis_client) == {"old-pod-b", "new-pod"}
    assert redis_client.xpending(STREAM, GROUP)["pending"] == 1


def test_nothing_is_forgotten_before_the_idle_time_or_without_a_stream(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    assert forget(redis_server, stale_after_ms=30) == []  # no stream yet
    redis_client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    redis_client.xadd(STREAM, {"n": "1"})
    [(_, [(entry, _)])] = redis_client.xreadgroup(GROUP, "pod", {STREAM: ">"}, count=1)
    redis_client.xack(STREAM, GROUP, entry)

    assert forget(redis_server, stale_after_ms=60_000) == []
    assert consumers(redis_client) == {"pod"}
