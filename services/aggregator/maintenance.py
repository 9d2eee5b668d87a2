"""Background upkeep: consumer groups always exist, subscribers keep running, acked entries go,
consumers that left are forgotten."""

from __future__ import annotations

import asyncio
import logging

from faststream.redis import RedisBroker

from shared import names
from shared.consumers import restart_stopped_subscribers
from shared.store.client import StoreClient
from shared.store.consumers import forget_departed_consumers
from shared.store.groups import ensure_groups
from shared.store.trim import trim_acknowledged

log = logging.getLogger("pacer.aggregator")


async def keep_streams_healthy(
    broker: RedisBroker, redis: StoreClient, check_s: float = 1.0, trim_every: int = 10
) -> None:
    """Every ``check_s``: revive stopped subscribers; every ``trim_every`` checks: recreate lost
    groups, trim entries every group has acknowledged and forget consumers that left."""
    checks = 0
    while True:
        await asyncio.sleep(check_s)
        checks += 1
        try:
            await restart_stopped_subscribers(broker, redis)
            if checks % trim_every == 0:
                await ensure_groups(redis)
                for stream in names.STREAM_GROUPS:
                    await trim_acknowledged(redis, stream)
                    for gone in await forget_departed_consumers(redis, stream):
                        log.info("forgot consumer %s of %s: long idle, none pending", gone, stream)
        except Exception as exc:  # Redis down: try again next time
            log.warning("stream upkeep failed: %r", exc)
