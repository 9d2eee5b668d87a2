"""The gigabit indicators family: which reading of an indicator wins, stated once.

Owns a city's current readings (``names.city_indicators_key``: indicator -> "<version>\t<value>\t
<as_of>\t<report_id>"), its history (``names.city_indicator_history_key``: every applied value in
arrival order) and the winning reading per indicator and ``as_of``
(``names.city_indicator_readings_key``, what is judged). The aggregator's apply script runs
``gigabit_apply`` writing; the ingest's dry run runs the same function writing nothing
(``RedisIndicators.preview``); ``shared.store.state`` reads them for the judgement.

A reading's version is ``<as_of>/<stream id>`` (``shared.store.reports.apply.entry_version``):
a later ``as_of`` wins, and of one ``as_of`` the later report. The value text is
``value_text``'s, so an equal value reads as unchanged.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from shared import names
from shared.store.client import StoreClient
from shared.wire import GigabitReport, ReportSummary

# gigabit_apply(current, history, readings, first, version, report_id, write): the indicators of
# the ARGV items from ``first`` (as_of, then pairs of indicator and value text) against the
# current readings in KEYS[current]; with ``write``, also appends to KEYS[history] and keeps the
# winning reading per indicator and as_of in KEYS[readings]. Returns {created, updated, unchanged}.
FUNCTIONS = r"""
local function gigabit_apply(current, history, readings, first, version, report_id, write)
  local created, updated, unchanged = 0, 0, 0
  local as_of = ARGV[first]
  for i = first + 1, #ARGV, 2 do
    local key, value = ARGV[i], ARGV[i + 1]
    local reading = value .. '\t' .. as_of .. '\t' .. report_id
    if write then
      redis.call('RPUSH', KEYS[history], key .. '\t' .. reading)
      local field = key .. '\t' .. as_of
      local held = redis.call('HGET', KEYS[readings], field)
      if not held or version > string.match(held, '^([^\t]*)') then
        redis.call('HSET', KEYS[readings], field, version .. '\t' .. value .. '\t' .. report_id)
      end
    end
    local stored = redis.call('HGET', KEYS[current], key)
    if not stored then
      created = created + 1
      if write then redis.call('HSET', KEYS[current], key, version .. '\t' .. reading) end
    else
      local stored_version, stored_value = string.match(stored, '^([^\t]*)\t([^\t]*)')
      if version <= stored_version then
        unchanged = unchanged + 1
      else
        if value == stored_value then unchanged = unchanged + 1 else updated = updated + 1 end
        if write then redis.call('HSET', KEYS[current], key, version .. '\t' .. reading) end
      end
    end
  end
  return {created, updated, unchanged}
end
"""

# KEYS: 1 the city's current readings. ARGV: 1 the preview's version, 2 as_of, then pairs.
_PREVIEW = (
    FUNCTIONS
    + r"""
return gigabit_apply(1, 0, 0, 2, ARGV[1], '', false)
"""
)


def value_text(value: float) -> str:
    """How a value is stored and compared (the same value always reads the same)."""
    return repr(float(value))


def report_items(report: GigabitReport) -> list[str]:
    """``gigabit_apply``'s items: as_of, then each indicator and its value text, sorted."""
    items = [report.as_of.isoformat()]
    for key, value in sorted(report.indicators.items()):
        items += [key, value_text(value)]
    return items


def preview_version(as_of: date) -> str:
    """A version later than every stored one of the same ``as_of``: a report applied now would
    get a newer stream entry than any applied before it."""
    return f"{as_of.isoformat()}/{'9' * 15}-{'9' * 10}"


class IndicatorStore(Protocol):
    async def preview(self, city: str, report: GigabitReport) -> ReportSummary:
        """What applying the report now would do (the apply's rule, writing nothing)."""
        ...


class RedisIndicators:
    def __init__(self, redis: StoreClient) -> None:
        self._preview = redis.register_script(_PREVIEW)

    async def preview(self, city: str, report: GigabitReport) -> ReportSummary:
        args = [preview_version(report.as_of), *report_items(report)]
        keys = [names.city_indicators_key(city)]
        created, updated, unchanged = await self._preview(keys=keys, args=args)
        return ReportSummary(created=int(created), updated=int(updated), unchanged=int(unchanged))
