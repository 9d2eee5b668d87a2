"""Background upkeep: consumer groups always exist, subscribers keep running, acked entries go."""

from __future__ import annotations

import asyncio
import logging

from faststream.redis import RedisBroker
from redis.asyncio import Redis

from shared import names
from shared.consumers import restart_stopped_subscribers
from shared.store.groups import ensure_groups
from shared.store.trim import trim_acknowledged

log = logging.getLogger("pacer.aggregator")


async def keep_streams_healthy(
    broker: RedisBroker, redis: Redis, check_s: float = 1.0, trim_every: int = 10
) -> None:
    """Every ``check_s``: revive stopped subscribers; every ``trim_every`` checks: recreate lost
    groups and trim entries every group has acknowledged."""
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
        except Exception as exc:  # Redis down: try again next time
            log.warning("stream upkeep failed: %r", exc)
