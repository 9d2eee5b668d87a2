"""Everything one scrape needs from Redis, read up front so the collector itself does no I/O."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from shared import names
from shared.domain.alerts import AlertName, Severity
from shared.domain.state import CityState
from shared.domain.targets import Targets
from shared.store.alerts import read_active_alerts
from shared.store.client import StoreClient
from shared.store.reports import RejectedCount, read_rejected_counts
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
    rejected: tuple[RejectedCount, ...] = ()
    """Reports the aggregator rejected after their 202, by city, kind and code."""


async def read_snapshot(redis: StoreClient, targets: Targets) -> Snapshot:
    """The state of every city and stream; raises ``RedisError`` when Redis does not answer."""
    started = time.perf_counter()
    states = await read_city_states(
        redis, list(targets.cities), judging_up_to=targets.gigabit.deadline
    )
    streams = await read_stream_stats(redis)
    dead_letters = {
        source: streams.lengths.get(dead, 0) for source, dead in names.DEAD_LETTER_STREAMS.items()
    }
    return Snapshot(
        states=states,
        streams=streams,
        dead_letters=dead_letters,
        alerts=await read_firing_alerts(redis),
        rejected=await read_rejected_counts(redis),
        read_seconds=time.perf_counter() - started,
    )


async def read_firing_alerts(redis: StoreClient) -> tuple[AlertCount, ...]:
    """Active alerts by name and severity, every pair present (0 when none fire) so a dashboard
    shows a zero rather than "no data"."""
    active = await read_active_alerts(redis)
    counts = Counter((r.alert.name, r.alert.severity) for r in active.values())
    return tuple(
        AlertCount(str(name), str(severity), counts[(str(name), str(severity))])
        for name in AlertName
        for severity in Severity
        # info is ReportDueSoon's severity, and its only one
        if (severity is Severity.INFO) == (name is AlertName.REPORT_DUE_SOON)
    )
