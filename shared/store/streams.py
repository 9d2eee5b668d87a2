"""Length, pending and lag of Pacer's streams, for the exporter and readiness checks."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared import names


@dataclass(frozen=True)
class GroupStats:
    stream: str
    group: str
    pending: int
    lag: int


@dataclass(frozen=True)
class StreamStats:
    lengths: dict[str, int]
    groups: tuple[GroupStats, ...]


async def read_stream_stats(redis: Redis) -> StreamStats:
    lengths: dict[str, int] = {}
    groups: list[GroupStats] = []
    for stream in names.ALL_STREAMS:
        lengths[stream] = int(await redis.xlen(stream))
        try:
            infos = await redis.xinfo_groups(stream)
        except ResponseError:  # the stream does not exist yet
            infos = []
        for info in infos:
            # lag is nil when Redis cannot tell (after deletions); count it as the whole length.
            # It can also be too high for good: Redis 7.0 restores a group's entries-read from
            # the last AOF rewrite, so after a restart lag keeps what was read since then (soak).
            # Unread entries are never trimmed, so the stream's length bounds the true lag.
            lag = info.get("lag")
            groups.append(
                GroupStats(
                    stream=stream,
                    group=str(info["name"]),
                    pending=int(info["pending"]),
                    lag=min(int(lag), lengths[stream]) if lag is not None else lengths[stream],
                )
            )
    return StreamStats(lengths, tuple(groups))
