"""Reads the aggregated state of every city from Redis into the domain's ``CityState``.

The ingest's progress API and the exporter both read through here, so they always agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from redis.asyncio import Redis

from shared import names
from shared.domain.calendar import Period
from shared.domain.state import CityState, IndicatorReading, ReportKind

# One city's state in one command: its keys share the city's hash tag, so this stays valid on a
# Redis Cluster, and a command per city instead of one per key cuts a 340-city read from ~1,400
# commands to ~340 (redis-py spends tens of microseconds of Python on each).
# KEYS: site-days, indicators, indicator history, latest as_of by kind, then per report kind its
# periods set and its first-receipt-by-period hash.
_READ_CITY = r"""
local state = {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]),
  redis.call('LRANGE', KEYS[3], 0, -1), redis.call('HGETALL', KEYS[4])}
for i = 5, #KEYS, 2 do
  state[#state + 1] = redis.call('SMEMBERS', KEYS[i])
  state[#state + 1] = redis.call('HGETALL', KEYS[i + 1])
end
return state
"""


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


async def read_city_states(redis: Redis, cities: list[str]) -> dict[str, CityState]:
    """One pipelined round trip for all cities."""
    read_city = redis.register_script(_READ_CITY)
    # As a context manager, the pipeline gives its connection back on every path: a pipeline
    # left open after a failed execute() kept a pool connection for good (issue 11).
    async with redis.pipeline(transaction=False) as pipe:
        for city in cities:
            keys = [
                names.city_site_days_key(city),
                names.city_indicators_key(city),
                names.city_indicator_history_key(city),
                names.city_latest_as_of_key(city),
            ]
            for kind in ReportKind:
                keys += [
                    names.city_periods_key(city, kind),
                    names.city_period_received_key(city, kind),
                ]
            await read_city(keys=keys, client=pipe)
        pipe.hgetall(names.LAST_RECEIVED_KEY)
        results = await pipe.execute()
    last_received: dict[str, str] = results[-1]
    return {
        city: _city_state(city, results[index], last_received) for index, city in enumerate(cities)
    }


def _city_state(city: str, raw: list[list[str]], last_received: dict[str, str]) -> CityState:
    flat_days, flat_indicators, history, flat_latest, *per_kind = raw
    days, latest = _pairs(flat_days), _pairs(flat_latest)
    periods = per_kind[0::2]
    received = per_kind[1::2]
    return CityState(
        city=city,
        sites_by_day={date.fromisoformat(d): int(n) for d, n in days.items() if int(n) > 0},
        indicators={key: _reading(raw) for key, raw in _pairs(flat_indicators).items()},
        indicator_history=tuple(_history_entry(line) for line in history),
        last_received={
            kind: _instant(stamp)
            for kind in ReportKind
            if (stamp := last_received.get(names.last_received_field(city, kind)))
        },
        reported_periods={
            kind: frozenset(Period.parse(p) for p in members)
            for kind, members in zip(ReportKind, periods, strict=True)
        },
        latest_as_of={
            kind: date.fromisoformat(day) for kind in ReportKind if (day := latest.get(kind))
        },
        period_received={
            kind: {Period.parse(p): _instant(stamp) for p, stamp in _pairs(flat).items()}
            for kind, flat in zip(ReportKind, received, strict=True)
        },
    )


def _instant(epoch_seconds: str) -> datetime:
    return datetime.fromtimestamp(float(epoch_seconds), tz=UTC)


def _reading(raw: str) -> IndicatorReading:
    """The stored form: tab-separated version, value, as_of, report_id (``APPLY_GIGABIT``)."""
    _version, value, as_of, report_id = raw.split("\t", 3)
    return IndicatorReading(
        value=float(value), as_of=date.fromisoformat(as_of), report_id=report_id
    )


def _history_entry(raw: str) -> tuple[str, IndicatorReading]:
    """A history line: tab-separated indicator, value, as_of, report_id, in arrival order."""
    key, value, as_of, report_id = raw.split("\t", 3)
    return key, IndicatorReading(
        value=float(value), as_of=date.fromisoformat(as_of), report_id=report_id
    )
