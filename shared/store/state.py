"""Reads the aggregated state of every city from Redis into the domain's ``CityState``.

The ingest's progress API and the exporter both read through here, so they always agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from redis.asyncio import Redis

from shared import names
from shared.domain.calendar import Period
from shared.domain.state import CityState, IndicatorReading, ReportKind


async def read_city_states(redis: Redis, cities: list[str]) -> dict[str, CityState]:
    """One pipelined round trip for all cities."""
    pipe = redis.pipeline(transaction=False)
    for city in cities:
        pipe.hgetall(names.city_site_days_key(city))
        pipe.hgetall(names.city_indicators_key(city))
        for kind in ReportKind:
            pipe.smembers(names.city_periods_key(city, kind))
    pipe.hgetall(names.LAST_RECEIVED_KEY)
    results = await pipe.execute()
    last_received: dict[str, str] = results[-1]
    per_city = 2 + len(ReportKind)
    states: dict[str, CityState] = {}
    for index, city in enumerate(cities):
        days, indicators, *periods = results[index * per_city : (index + 1) * per_city]
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
