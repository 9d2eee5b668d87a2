"""Lua scripts that apply a report, record it as applied and acknowledge it in one atomic step.

Because the "already applied?" check, the state change, the XACK and the progress event happen in
one script, a redelivered or reclaimed entry changes nothing, and a crash between them is
impossible. Each site and indicator carries a version ``<as_of>/<stream id>``: a report that is
older than what is stored (a late report, or a reclaimed entry overtaken by a newer one) leaves it
unchanged.
"""

from __future__ import annotations

# Shared head: skip reports already finished (a redelivery), and hand back a report whose record
# is still at its pre-v2 key (the applier moves it under the city, then runs the script again).
# KEYS: 1 report, 2 reports stream, 3 progress stream, 4 city periods, 5 last-received,
#       6 city latest as_of by kind, 7 city first receipt by period (this kind), 8 the report's
#       pre-v2 record (``names.legacy_report_key``), then the kind's own keys.
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

# Sites. Own KEYS: 9 city sites, 10 city site-days, 11 site owners, 12 rejected counts.
# Own items: the most site ids the city may hold (0: no bound), the rejected-counts fields for
# code site_registered_elsewhere and for site_limit_exceeded, then pairs (site_id, record) where
# record = "status\tcommissioned_on\t...". Stored value: "<version>\t<record>".
# A report holds up to 10,000 sites: reads and writes go in batches of CHUNK (one HMGET or HSET
# for many sites; unpack is bounded by Lua's C stack) and the per-day counts are summed in Lua
# first, because a redis.call per site made Redis spend ~18 us on each site of a bulk load.
#
# A report that names a site another city registered after the ingest accepted it (two cities
# racing for one id), or that would take the city past its ceiling of registered sites, is
# rejected whole: a business rejection, not a processing failure. The record gets status rejected
# and its errors (every such site, at most MAX_ERRORS entries, the last then too_many_errors with
# the count), as JSON facts (the owner too: the ingest names it only to admin and viewer tokens);
# the rejection is counted under the code of its first error; the period is not marked reported.
APPLY_SITES = (
    _HEAD
    + r"""
local CHUNK = 1000
local MAX_ERRORS = 100
local city = ARGV[2]
local max_sites = tonumber(ARGV[first_item])
local ids, records = {}, {}
for i = first_item + 3, #ARGV, 2 do
  ids[#ids + 1] = ARGV[i]
  records[#records + 1] = ARGV[i + 1]
end
local owners, stored = {}, {}
for from = 1, #ids, CHUNK do
  local to = math.min(from + CHUNK - 1, #ids)
  local got_owners = redis.call('HMGET', KEYS[11], unpack(ids, from, to))
  local got_stored = redis.call('HMGET', KEYS[9], unpack(ids, from, to))
  for j = 1, to - from + 1 do
    owners[from + j - 1] = got_owners[j]
    stored[from + j - 1] = got_stored[j]
  end
end
local errors, error_count, first_field = {}, 0, nil
local function reject_with(item, field)
  error_count = error_count + 1
  if error_count <= MAX_ERRORS then errors[error_count] = item end
  first_field = first_field or field
end
local unregistered, counted = 0, {}
for j = 1, #ids do
  local owner = owners[j]
  if owner and owner ~= city then
    reject_with({loc = {'body', 'sites', j - 1, 'site_id'}, code = 'site_registered_elsewhere',
      site_id = ids[j], owner = owner}, ARGV[first_item + 1])
  elseif not owner and not counted[ids[j]] then
    unregistered = unregistered + 1
    counted[ids[j]] = true
  end
end
if max_sites > 0 and unregistered > 0 then
  local registered = redis.call('HLEN', KEYS[9])
  if registered + unregistered > max_sites then
    reject_with({loc = {'body', 'sites'}, code = 'site_limit_exceeded', new = unregistered,
      registered = registered, limit = max_sites}, ARGV[first_item + 2])
  end
end
if error_count > 0 then
  if error_count > MAX_ERRORS then
    errors[MAX_ERRORS] = {loc = {'body', 'sites'}, code = 'too_many_errors', count = error_count}
  end
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'errors', cjson.encode(errors))
  redis.call('HINCRBY', KEYS[12], first_field, 1)
  redis.call('XACK', KEYS[2], ARGV[3], ARGV[4])
  return {'rejected', error_count}
end
local site_writes, owner_writes, day_deltas, seen = {}, {}, {}, {}
local function count_day(record, delta)
  local live, day = string.match(record, '^([^\t]*)\t([^\t]*)')
  if live == 'in_service' then day_deltas[day] = (day_deltas[day] or 0) + delta end
end
for j = 1, #ids do
  local site, record = ids[j], records[j]
  local previous = stored[j]
  if seen[site] then
    -- listed twice in one report: the second copy has the same version, so it changes nothing
    unchanged = unchanged + 1
  elseif not previous then
    created = created + 1
    site_writes[#site_writes + 1] = site
    site_writes[#site_writes + 1] = version .. '\t' .. record
    owner_writes[#owner_writes + 1] = site
    owner_writes[#owner_writes + 1] = city
    count_day(record, 1)
  else
    local stored_version, stored_record = string.match(previous, '^([^\t]*)\t(.*)$')
    if version <= stored_version or record == stored_record then
      unchanged = unchanged + 1
    else
      updated = updated + 1
      site_writes[#site_writes + 1] = site
      site_writes[#site_writes + 1] = version .. '\t' .. record
      count_day(stored_record, -1)
      count_day(record, 1)
    end
  end
  seen[site] = true
end
local function hset_all(key, pairs_flat)
  for from = 1, #pairs_flat, 2 * CHUNK do
    local to = math.min(from + 2 * CHUNK - 1, #pairs_flat)
    redis.call('HSET', key, unpack(pairs_flat, from, to))
  end
end
hset_all(KEYS[9], site_writes)
hset_all(KEYS[11], owner_writes)
for day, delta in pairs(day_deltas) do
  if delta ~= 0 and redis.call('HINCRBY', KEYS[10], day, delta) <= 0 then
    redis.call('HDEL', KEYS[10], day)
  end
end
"""
    + _TAIL
)

# Gigabit indicators. Own KEYS: 9 city indicators, 10 city indicator history (every value, in
# arrival order: the record), 11 the winning reading per indicator and as_of (what is judged).
# Own ARGV after the groups: as_of, then pairs (indicator, value text).
# Stored value: "<version>\t<value>\t<as_of>\t<report_id>".
APPLY_GIGABIT = (
    _HEAD
    + r"""
local as_of = ARGV[first_item]
for i = first_item + 1, #ARGV, 2 do
  local key, value = ARGV[i], ARGV[i + 1]
  local reading = value .. '\t' .. as_of .. '\t' .. ARGV[1]
  redis.call('RPUSH', KEYS[10], key .. '\t' .. reading)
  local field = key .. '\t' .. as_of
  local held = redis.call('HGET', KEYS[11], field)
  if not held or version > string.match(held, '^([^\t]*)') then
    redis.call('HSET', KEYS[11], field, version .. '\t' .. value .. '\t' .. ARGV[1])
  end
  local stored = redis.call('HGET', KEYS[9], key)
  if not stored then
    created = created + 1
    redis.call('HSET', KEYS[9], key, version .. '\t' .. reading)
  else
    local stored_version, stored_value = string.match(stored, '^([^\t]*)\t([^\t]*)')
    if version <= stored_version then
      unchanged = unchanged + 1
    else
      if value == stored_value then unchanged = unchanged + 1 else updated = updated + 1 end
      redis.call('HSET', KEYS[9], key, version .. '\t' .. reading)
    end
  end
end
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
