"""Everything one scrape needs from Redis, read up front so the collector itself does no I/O."""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from shared import names
from shared.domain.state import CityState
from shared.domain.targets import Targets
from shared.store.state import read_city_states
from shared.store.streams import StreamStats, read_stream_stats


@dataclass(frozen=True)
class AlertCount:
    alertname: str
    severity: str
    firing: int


@dataclass(frozen=True)
class Snapshot:
    states: dict[str, CityState]
    streams: StreamStats
    dead_letters: dict[str, int]
    """Source stream -> entries in its dead-letter stream."""
    alerts: tuple[AlertCount, ...]
    read_seconds: float
    """How long the reads took (part of the exporter's own scrape duration)."""


async def read_snapshot(redis: Redis, targets: Targets) -> Snapshot:
    """The state of every city and stream; raises ``RedisError`` when Redis does not answer."""
    started = time.perf_counter()
    states = await read_city_states(redis, list(targets.cities))
    streams = await read_stream_stats(redis)
    dead_letters = {
        source: streams.lengths.get(dead, 0) for source, dead in names.DEAD_LETTER_STREAMS.items()
    }
    return Snapshot(
        states=states,
        streams=streams,
        dead_letters=dead_letters,
        alerts=await read_firing_alerts(redis),
        read_seconds=time.perf_counter() - started,
    )


async def read_firing_alerts(redis: Redis) -> tuple[AlertCount, ...]:
    """Firing alerts by name and severity: always none for now.

    The alerting service that evaluates alerts does not exist yet. When it does, it will keep the
    counts in a Redis hash (named in ``shared.names``) and this function will read that hash, so
    ``pacer_alerts_firing`` is exported today with its final name and labels but no samples.
    """
    del redis  # read once the alerting service writes its hash
    return ()
