"""Trims a stream only below what every consumer group has both read and acknowledged.

A ``MAXLEN`` cap ignores consumer groups and would silently drop unread reports; this never does.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import ResponseError


def _as_tuple(entry_id: str) -> tuple[int, int]:
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence or 0)


async def safe_trim_point(redis: Redis, stream: str) -> str | None:
    """The lowest id some group still needs (its oldest pending or next unread); None: keep all."""
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return None
    if not groups:
        return None
    needed: list[tuple[int, int]] = []
    for group in groups:
        last_delivered = _as_tuple(str(group["last-delivered-id"]))
        needed.append((last_delivered[0], last_delivered[1] + 1))
        if int(group["pending"]):
            summary = await redis.xpending(stream, str(group["name"]))
            needed.append(_as_tuple(str(summary["min"])))
    lowest = min(needed)
    return f"{lowest[0]}-{lowest[1]}"


async def trim_acknowledged(redis: Redis, stream: str) -> int:
    """Remove entries every group has acknowledged; returns how many were removed."""
    point = await safe_trim_point(redis, stream)
    if point is None:
        return 0
    return int(await redis.xtrim(stream, minid=point, approximate=False))
