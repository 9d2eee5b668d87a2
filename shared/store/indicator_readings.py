"""The winning gigabit reading per indicator and ``as_of``: the upgrade that builds it.

The judgement and the history need, for each indicator, the value in force at a day: the latest
``as_of`` on or before it, ties to the later submission. The aggregator used to keep only the
history list (every value ever applied, in arrival order), and every evaluation read it whole:
under a soak's thousands of gigabit reports an evaluation took ~200 ms and the alerting group fell
behind. The apply script now also keeps ``names.city_indicator_readings_key`` (one entry per
indicator and ``as_of``, the later version wins), which the state read uses instead.

``upgrade_indicator_readings`` builds that hash from the list for a city that has a list and no
hash (a store written before it). The aggregator runs it at start, before it applies anything;
until then the state read falls back to the list, so no reading is ever missing. A list entry has
no stream id, so its version is its ``as_of`` and its place in the list: it loses a tie to any
report applied after the upgrade, as an earlier arrival would.
"""

from __future__ import annotations

from redis.asyncio import Redis

from shared import names

# KEYS: 1 the city's history list, 2 its readings hash, 3 the state generations. ARGV: 1 the city.
# Builds the hash only if it is absent.
_BUILD = r"""
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local lines = redis.call('LRANGE', KEYS[1], 0, -1)
for position, line in ipairs(lines) do
  local key, value, as_of, report_id = string.match(line, '^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$')
  if key then
    local version = as_of .. '/000000000000000-' .. string.format('%010d', position)
    local field = key .. '\t' .. as_of
    local held = redis.call('HGET', KEYS[2], field)
    if not held or version > string.match(held, '^([^\t]*)') then
      redis.call('HSET', KEYS[2], field, version .. '\t' .. value .. '\t' .. report_id)
    end
  end
end
if #lines > 0 then redis.call('HINCRBY', KEYS[3], ARGV[1], 1) end
return #lines
"""


async def upgrade_indicator_readings(redis: Redis, cities: list[str]) -> int:
    """Build the readings hash of every city that lacks one; the history lines read."""
    build = redis.register_script(_BUILD)
    read = 0
    for city in cities:
        keys = [
            names.city_indicator_history_key(city),
            names.city_indicator_readings_key(city),
            names.STATE_GENERATION_KEY,
        ]
        read += int(await build(keys=keys, args=[city]))
    return read
