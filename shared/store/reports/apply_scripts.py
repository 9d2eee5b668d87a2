"""Lua scripts that apply a report, record it as applied and acknowledge it in one atomic step.

Because the "already applied?" check, the state change, the XACK and the progress event happen in
one script, a redelivered or reclaimed entry changes nothing, and a crash between them is
impossible. Each site and indicator carries a version ``<as_of>/<stream id>``: a report that is
older than what is stored (a late report, or a reclaimed entry overtaken by a newer one) leaves it
unchanged.
"""

from __future__ import annotations

from shared.store import indicators
from shared.store.sites import scripts as sites_scripts

# Shared head: skip reports already finished (a redelivery), and hand back a report whose record
# is still at its pre-v2 key (the applier moves it under the city, then runs the script again).
# KEYS: 1 report, 2 reports stream, 3 progress stream, 4 city periods, 5 last-received,
#       6 city latest as_of by kind, 7 city first receipt by period (this kind), 8 the report's
#       pre-v2 record (``names.legacy_report_key``), 9 the state generations
#       (``names.STATE_GENERATION_KEY``), then the kind's own keys.
# ARGV: 1 report_id, 2 city, 3 group, 4 entry id, 5 applied_at, 6 received epoch, 7 period,
#       8 version, 9 kind, 10 last-received field, 11 number of progress groups, then the groups,
#       then the kind's own items.
_HEAD = r"""
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'applied' or status == 'rejected' then
  redis.call('XACK', KEYS[2], ARGV[3], ARGV[4])
  return {'already', status}
end
if not status and redis.call('HGET', KEYS[8], 'city') == ARGV[2] then
  return {'legacy'}
end
local progress_groups = tonumber(ARGV[11])
local first_item = 12 + progress_groups
local version = ARGV[8]
local created, updated, unchanged = 0, 0, 0
"""

_TAIL = r"""
redis.call('SADD', KEYS[4], ARGV[7])
-- The judgement day needs the latest as_of of the kind (the version starts with it), and the
-- history needs when each month was first reported.
local report_as_of = string.sub(version, 1, 10)
local latest_as_of = redis.call('HGET', KEYS[6], ARGV[9])
if not latest_as_of or report_as_of > latest_as_of then
  redis.call('HSET', KEYS[6], ARGV[9], report_as_of)
end
local first_received = redis.call('HGET', KEYS[7], ARGV[7])
if not first_received or tonumber(ARGV[6]) < tonumber(first_received) then
  redis.call('HSET', KEYS[7], ARGV[7], ARGV[6])
end
local previous = tonumber(redis.call('HGET', KEYS[5], ARGV[10]) or '0')
if tonumber(ARGV[6]) > previous then
  redis.call('HSET', KEYS[5], ARGV[10], ARGV[6])
end
redis.call('HSET', KEYS[1], 'status', 'applied', 'applied_at', ARGV[5],
  'created', created, 'updated', updated, 'unchanged', unchanged)
-- the city's judged state changed (or may have): readers that keep parsed states read it again
redis.call('HINCRBY', KEYS[9], ARGV[2], 1)
redis.call('XACK', KEYS[2], ARGV[3], ARGV[4])
if redis.call('EXISTS', KEYS[3]) == 0 then
  for i = 12, 11 + progress_groups do
    redis.call('XGROUP', 'CREATE', KEYS[3], ARGV[i], '0', 'MKSTREAM')
  end
end
redis.call('XADD', KEYS[3], '*', 'report_id', ARGV[1], 'city', ARGV[2], 'kind', ARGV[9],
  'applied_at', ARGV[5])
return {'applied', created, updated, unchanged}
"""

# Sites: the rules are the sites family's (``shared.store.sites.scripts.sites_apply``, the same
# function the dry run's preview runs without writing); this script makes them atomic with the
# report's record, its acknowledgement and its progress event. Own KEYS: 10 rejected counts, then
# from 11 the family's (``shared.store.sites.calls.apply_keys``); own items: the family's
# (``apply_args``).
#
# A report that names a site another city registered after the ingest accepted it (two cities
# racing for one id), or that would take the city past its ceiling of registered sites, is
# rejected whole: a business rejection, not a processing failure. The record gets status rejected
# and its errors (every such site, at most 100 entries, the last then too_many_errors with the
# count), as JSON facts (the owner too: the ingest names it only to admin and viewer tokens); the
# rejection is counted under the code of its first error; the period is not marked reported.
# While the sites are not in the live layout (``pacer migrate`` runs) nothing is written and the
# entry stays pending: ``upgrading``.
APPLY_SITES = (
    _HEAD
    + sites_scripts.FUNCTIONS
    + r"""
local sites = sites_apply(10, first_item, true)
if sites[1] == 'upgrading' then return {'upgrading'} end
if sites[1] == 'rejected' then
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'errors', cjson.encode(sites[2]))
  redis.call('HINCRBY', KEYS[10], sites[4], 1)
  redis.call('XACK', KEYS[2], ARGV[3], ARGV[4])
  return {'rejected', sites[3]}
end
created, updated, unchanged = sites[2], sites[3], sites[4]
"""
    + _TAIL
)

# Gigabit indicators: the rule is the indicators family's (``shared.store.indicators``'s
# ``gigabit_apply``, the same function the dry run's preview runs without writing); this script
# makes it atomic with the report's record, its acknowledgement and its progress event.
# Own KEYS: 10 city indicators, 11 city indicator history, 12 the winning reading per indicator
# and as_of. Own items after the groups: ``indicators.report_items`` (as_of, then indicator, value).
APPLY_GIGABIT = (
    _HEAD
    + indicators.FUNCTIONS
    + r"""
local counts = gigabit_apply(10, 11, 12, first_item, version, ARGV[1], true)
created, updated, unchanged = counts[1], counts[2], counts[3]
"""
    + _TAIL
)

# Give up on an entry: mark its report rejected (unless it was applied meanwhile) with the reason
# as its one error (code dead_lettered) and count it, copy the entry to the dead-letter stream
# with the reason, and acknowledge it. An entry without a report record (not a report at all) is
# only moved: it was never answered 202, so it is no rejected report.
# KEYS: 1 report (may not exist), 2 reports stream, 3 dead-letter stream, 4 entry errors,
#       5 rejected counts.
# ARGV: 1 report_id, 2 group, 3 entry id, 4 reason, 5 attempts, 6 rejected-counts field,
#       then field/value pairs of the entry.
DEAD_LETTER = r"""
if ARGV[1] ~= '' then
  local status = redis.call('HGET', KEYS[1], 'status')
  if status == 'applied' or status == 'rejected' then
    redis.call('XACK', KEYS[2], ARGV[2], ARGV[3])
    return 'already'
  end
end
local last_error = redis.call('HGET', KEYS[4], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
local reason = ARGV[4]
if last_error then reason = reason .. ': ' .. last_error end
if ARGV[1] ~= '' and redis.call('EXISTS', KEYS[1]) == 1 then
  local errors = {{loc = {}, code = 'dead_lettered', message = reason}}
  -- cjson writes an empty table as an object: the loc must stay a list
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'reason', reason,
    'errors', (string.gsub(cjson.encode(errors), '"loc":{}', '"loc":[]')))
  redis.call('HINCRBY', KEYS[5], ARGV[6], 1)
end
local entry = {'entry_id', ARGV[3], 'reason', reason, 'attempts', ARGV[5]}
for i = 7, #ARGV do table.insert(entry, ARGV[i]) end
redis.call('XADD', KEYS[3], '*', unpack(entry))
redis.call('XACK', KEYS[2], ARGV[2], ARGV[3])
return 'dead'
"""
