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
# KEYS: site-days, indicators, then the periods set of each report kind.
_READ_CITY = r"""
local state = {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
for i = 3, #KEYS do state[#state + 1] = redis.call('SMEMBERS', KEYS[i]) end
return state
"""


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


async def read_city_states(redis: Redis, cities: list[str]) -> dict[str, CityState]:
    """One pipelined round trip for all cities."""
    read_city = redis.register_script(_READ_CITY)
    pipe = redis.pipeline(transaction=False)
    for city in cities:
        keys = [names.city_site_days_key(city), names.city_indicators_key(city)]
        keys += [names.city_periods_key(city, kind) for kind in ReportKind]
        await read_city(keys=keys, client=pipe)
    pipe.hgetall(names.LAST_RECEIVED_KEY)
    results = await pipe.execute()
    last_received: dict[str, str] = results[-1]
    states: dict[str, CityState] = {}
    for index, city in enumerate(cities):
        flat_days, flat_indicators, *periods = results[index]
        days, indicators = _pairs(flat_days), _pairs(flat_indicators)
        states[city] = CityState(
            city=city,
            sites_by_day={date.fromisoformat(d): int(n) for d, n in days.items() if int(n) > 0},
            indicators={key: _reading(raw) for key, raw in indicators.items()},
            last_received={
                kind: datetime.fromtimestamp(float(stamp), tz=UTC)
                for kind in ReportKind
                if (stamp := last_received.get(names.last_received_field(city, kind)))
            },
            reported_periods={
                kind: frozenset(Period.parse(p) for p in members)
                for kind, members in zip(ReportKind, periods, strict=True)
            },
        )
    return states


def _reading(raw: str) -> IndicatorReading:
    """The stored form: tab-separated version, value, as_of, report_id (``APPLY_GIGABIT``)."""
    _version, value, as_of, report_id = raw.split("\t", 3)
    return IndicatorReading(
        value=float(value), as_of=date.fromisoformat(as_of), report_id=report_id
    )
