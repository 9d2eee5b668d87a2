"""Background upkeep: consumer groups always exist, acknowledged entries are trimmed."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.asyncio import Redis

from shared import names
from shared.store.groups import ensure_groups
from shared.store.trim import trim_acknowledged

log = logging.getLogger("pacer.aggregator")


async def keep_streams_healthy(redis: Redis, interval_s: float = 5.0) -> None:
    """Every ``interval_s``: recreate groups lost with a Redis wiped empty (else every consumer
    would stop on NOGROUP), and trim entries every group has acknowledged."""
    while True:
        await asyncio.sleep(interval_s)
        with contextlib.suppress(Exception):
            await ensure_groups(redis)
            for stream in names.STREAM_GROUPS:
                removed = await trim_acknowledged(redis, stream)
                if removed:
                    log.debug("trimmed %d acknowledged entries from %s", removed, stream)
