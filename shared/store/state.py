"""Reads the aggregated state of every city from Redis into the domain's ``CityState``.

The ingest's progress API and the exporter both read through here, so they always agree.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Protocol

from redis.asyncio import Redis

from shared import names
from shared.domain.calendar import Period
from shared.domain.state import CityState, IndicatorReading, ReportKind

# One city's state in one command: its keys share the city's hash tag, so this stays valid on a
# Redis Cluster, and a command per city instead of one per key cuts a 340-city read from ~1,400
# commands to ~340 (redis-py spends tens of microseconds of Python on each).
# KEYS: site-days, indicators, the winning reading per indicator and as_of, the indicator history
# (read only when the former is empty), latest as_of by kind, then per report kind its periods set
# and its first-receipt-by-period hash. The reply is those lists as one JSON text (cjson; an
# empty list comes back as ``{}``): a city's ~1,000 strings as ~1,000 RESP bulk strings cost the
# script's reply conversion and redis-py's parsing about as much as judging the city; one string
# per city is parsed only when it changed (``ParsedStates``), by ``json.loads`` in C.
_READ_CITY = r"""
local readings = redis.call('HGETALL', KEYS[3])
if ARGV[1] ~= '' and #readings > 0 then
  -- only each indicator's latest as_of on or before ARGV[1] (see read_city_states)
  local best = {}
  for i = 1, #readings, 2 do
    local key, as_of = string.match(readings[i], '^([^\t]*)\t(.*)$')
    if as_of <= ARGV[1] and (not best[key] or as_of > best[key][1]) then
      best[key] = {as_of, i}
    end
  end
  local kept = {}
  for _, found in pairs(best) do
    kept[#kept + 1] = readings[found[2]]
    kept[#kept + 1] = readings[found[2] + 1]
  end
  readings = kept
end
local history = {}
if #readings == 0 then
  -- a store the aggregator has not upgraded yet (shared/store/indicator_readings.py)
  history = redis.call('LRANGE', KEYS[4], 0, -1)
end
local state = {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]),
  readings, history, redis.call('HGETALL', KEYS[5])}
for i = 6, #KEYS, 2 do
  state[#state + 1] = redis.call('SMEMBERS', KEYS[i])
  state[#state + 1] = redis.call('HGETALL', KEYS[i + 1])
end
return cjson.encode(state)
"""


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


@dataclasses.dataclass
class ParsedStates:
    """The ``CityState`` last built from each city's reply, kept by a reader that reads every
    city again and again (the alerting service's evaluation): a city whose reply is the same as
    last time (most of them, most of the time) is not parsed again. Parsing was ~150 ms of an
    evaluation at 340 cities (a date per site-day, a ``Period`` per reported month), and the
    reused state keeps its ``site_counts`` too. Comparing a reply with the last one is a C-level
    string comparison. ``CityState`` is frozen, so sharing it is safe.
    """

    _last: dict[str, tuple[str, tuple[str | None, ...], CityState]] = dataclasses.field(
        default_factory=dict
    )

    def state(self, city: str, raw: str, last_received: dict[str, str]) -> CityState:
        received = tuple(last_received.get(names.last_received_field(city, k)) for k in ReportKind)
        kept = self._last.get(city)
        if kept is not None and kept[0] == raw and kept[1] == received:
            return kept[2]
        state = _city_state(city, raw, last_received)
        self._last[city] = (raw, received, state)
        return state


class CityStateReader(Protocol):
    """What a judge needs of the stored state (``RedisCityStates``, or a test's fake)."""

    async def read(
        self, cities: list[str], *, judging_up_to: date | None = None
    ) -> dict[str, CityState]:
        """Each city's state (see ``read_city_states``)."""
        ...


FULL_READ_EVERY_S = 60.0
"""How often ``RedisCityStates`` reads every city whatever the generations say: a bound on how
long a change made without its generation (a hand edit, a writer that forgot) could go unseen."""


class RedisCityStates:
    """Reads through ``read_city_states`` for a reader that reads every city again and again (the
    alerting service's evaluator): only the cities whose state generation
    (``names.STATE_GENERATION_KEY``) moved since its last read are read again, and every city at
    least every ``full_read_every_s``. At 340 cities the state read was ~150 ms of Redis time an
    evaluation (~250 us of Lua a city), though after one report one city has changed.

    The generations are read before the states, so a change that lands between the two reads is
    read again next time, never missed: the generation kept is never newer than the state kept.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        full_read_every_s: float = FULL_READ_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._parsed = ParsedStates()
        self._kept: dict[tuple[str, str], tuple[str, CityState]] = {}
        """(city, judging up to) -> (its generation when read, its state)."""
        self._full_read_every_s = full_read_every_s
        self._monotonic = monotonic
        self._last_full_read: float | None = None

    async def read(
        self, cities: list[str], *, judging_up_to: date | None = None
    ) -> dict[str, CityState]:
        through = judging_up_to.isoformat() if judging_up_to else ""
        generations = [
            str(g or "0") for g in await self._redis.hmget(names.STATE_GENERATION_KEY, cities)
        ]
        now = self._monotonic()
        if self._last_full_read is None or now - self._last_full_read >= self._full_read_every_s:
            self._last_full_read = now
            stale = list(cities)
        else:
            stale = [
                city
                for city, generation in zip(cities, generations, strict=True)
                if self._kept.get((city, through), ("",))[0] != generation
            ]
        fresh = (
            await read_city_states(
                self._redis, stale, judging_up_to=judging_up_to, parsed=self._parsed
            )
            if stale
            else {}
        )
        for city, generation in zip(cities, generations, strict=True):
            if city in fresh:
                self._kept[(city, through)] = (generation, fresh[city])
        return {city: self._kept[(city, through)][1] for city in cities}


async def read_city_states(
    redis: Redis,
    cities: list[str],
    *,
    judging_up_to: date | None = None,
    parsed: ParsedStates | None = None,
) -> dict[str, CityState]:
    """One pipelined round trip for all cities.

    ``judging_up_to``: read only what judging the cities on days up to this one needs. Of the
    gigabit readings that is each indicator's latest ``as_of`` on or before it (the live
    judgement's day never passes the gigabit deadline, and before that deadline it is on or after
    every ``as_of`` the city reported), instead of one per indicator and reported day: every
    evaluation, scrape and progress read pays for what it reads, and a soak's thousands of
    gigabit reports made an evaluation take 200 ms. The history (month ends) reads everything.

    ``parsed``: a reader's ``ParsedStates``, to reuse the states of cities whose reply has not
    changed since that reader's last call.
    """
    through = judging_up_to.isoformat() if judging_up_to else ""
    read_city = redis.register_script(_READ_CITY)
    # As a context manager, the pipeline gives its connection back on every path: a pipeline
    # left open after a failed execute() kept a pool connection for good (issue 11).
    async with redis.pipeline(transaction=False) as pipe:
        for city in cities:
            keys = [
                names.city_site_days_key(city),
                names.city_indicators_key(city),
                names.city_indicator_readings_key(city),
                names.city_indicator_history_key(city),
                names.city_latest_as_of_key(city),
            ]
            for kind in ReportKind:
                keys += [
                    names.city_periods_key(city, kind),
                    names.city_period_received_key(city, kind),
                ]
            await read_city(keys=keys, args=[through], client=pipe)
        pipe.hgetall(names.LAST_RECEIVED_KEY)
        results = await pipe.execute()
    last_received: dict[str, str] = results[-1]
    build = parsed.state if parsed is not None else _city_state
    return {city: build(city, results[index], last_received) for index, city in enumerate(cities)}


def _city_state(city: str, raw: str, last_received: dict[str, str]) -> CityState:
    parts: list[list[str]] = [part or [] for part in json.loads(raw)]  # cjson: [] is {}
    flat_days, flat_indicators, flat_readings, history, flat_latest, *per_kind = parts
    days, latest = _pairs(flat_days), _pairs(flat_latest)
    periods = per_kind[0::2]
    received = per_kind[1::2]
    return CityState(
        city=city,
        sites_by_day={date.fromisoformat(d): int(n) for d, n in days.items() if int(n) > 0},
        indicators={key: _reading(raw) for key, raw in _pairs(flat_indicators).items()},
        indicator_history=_readings(_pairs(flat_readings))
        or tuple(_history_entry(line) for line in history),
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


def _readings(stored: dict[str, str]) -> tuple[tuple[str, IndicatorReading], ...]:
    """The winning reading of each indicator and as_of, in version order (as_of, then arrival):
    the order the domain reads a history in."""
    found = []
    for field, value in stored.items():
        key, as_of = field.split("\t", 1)
        version, number, report_id = value.split("\t", 2)
        reading = IndicatorReading(float(number), date.fromisoformat(as_of), report_id)
        found.append((version, key, reading))
    found.sort(key=lambda item: item[0])
    return tuple((key, reading) for _, key, reading in found)


def _history_entry(raw: str) -> tuple[str, IndicatorReading]:
    """A history line: tab-separated indicator, value, as_of, report_id, in arrival order."""
    key, value, as_of, report_id = raw.split("\t", 3)
    return key, IndicatorReading(
        value=float(value), as_of=date.fromisoformat(as_of), report_id=report_id
    )
