"""Forgets consumers that left: on Kubernetes every pod (hence consumer) name is new after a
rollout, and Redis keeps each old name in ``XINFO CONSUMERS`` for good unless deleted."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import ResponseError

STALE_AFTER_MS = 24 * 3600 * 1000
"""Idle this long with nothing pending: gone. A live consumer reads every second or so, and one
deleted by mistake loses nothing (it has no pending entry) and is recreated by its next read."""


async def forget_departed_consumers(
    redis: Redis, stream: str, *, stale_after_ms: int = STALE_AFTER_MS
) -> list[str]:
    """Delete the stream's consumers that have no pending entry and have been idle longer than
    ``stale_after_ms``, in every group; the ``group/consumer`` names deleted."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:  # no stream (yet)
        return []
    deleted: list[str] = []
    for group in groups:
        group_name = str(group["name"])
        for consumer in await redis.xinfo_consumers(stream, group_name):
            name = str(consumer["name"])
            if int(consumer["pending"]) == 0 and int(consumer["idle"]) > stale_after_ms:
                # DELCONSUMER drops a consumer's pending entries with it: only ever with none.
                await redis.xgroup_delconsumer(stream, group_name, name)
                deleted.append(f"{group_name}/{name}")
    return deleted
