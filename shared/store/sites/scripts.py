"""The sites family's Lua: every rule about site ids (who owns one, which version wins, the
city's ceiling, the per-day counts) is written here once.

``FUNCTIONS`` is a prelude of local Lua functions. The aggregator's apply script and the preview
script both call ``sites_apply`` (the preview with ``writing`` false: it computes the same
summary and writes nothing); the ingest's accept script calls ``sites_claims`` for the owner and
ceiling checks it answers at the door. Keys and arguments are laid out by
``shared.store.sites.calls``; the value format is ``shared.store.sites.encoding``'s.
"""

from __future__ import annotations

from shared.domain.state import ReportKind

SITES_KIND = str(ReportKind.SITES)

# A site value is <owner 2><version 13><record>; the record starts with its status (i/d) and
# commissioned_on (3 base-62 days since 2019-01-01). Redis runs one script at a time, so each
# function may read and write freely; none of them yields.
FUNCTIONS = r"""
local SITES_B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
local SITES_RECORD_AT = 16

local function sites_base62(n, width)
  local text = ''
  repeat
    local digit = n % 62
    text = string.sub(SITES_B62, digit + 1, digit + 1) .. text
    n = math.floor(n / 62)
  until n == 0
  while #text < width do text = '0' .. text end
  return text
end

local function sites_from_base62(text)
  local n = 0
  for i = 1, #text do n = n * 62 + string.find(SITES_B62, string.sub(text, i, i), 1, true) - 1 end
  return n
end

-- Days since 2019-01-01 -> YYYY-MM-DD (H. Hinnant's civil_from_days): the site-days hash is
-- keyed by date, as v1 kept it and shared.store.state reads it.
local function sites_iso_day(days)
  local z = days + 17897 + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02d', y, m, d)
end

-- Whether the v2 layout is live. An empty store (no format, no v1 owner index) is v2 from its
-- first write on; a v1 store or one being migrated is not, and nothing may touch its sites.
local function sites_live(format_key, v1_owners_key, writing)
  local format = redis.call('GET', format_key)
  if format == '2' then return true end
  if not format and redis.call('EXISTS', v1_owners_key) == 0 then
    if writing then redis.call('SET', format_key, '2') end
    return true
  end
  return false
end

local function sites_city_id(ids_key, city, writing)
  local id = redis.call('HGET', ids_key, city)
  if id or not writing then return id end
  local n = redis.call('HINCRBY', ids_key, '#next', 1)
  if n >= 62 * 62 then error('more than 3843 cities hold sites') end
  id = sites_base62(n, 2)
  redis.call('HSET', ids_key, city, id, '#' .. id, city)
  return id
end

local function sites_owner_names(ids_key)
  local known = {}
  return function(id)
    known[id] = known[id] or redis.call('HGET', ids_key, '#' .. id)
    return known[id]
  end
end

-- The ids of district and band texts in a city's dictionary, new texts numbered after the
-- last; without writing, a new text gets an id no stored record holds.
local function sites_intern(words_key, texts, writing)
  local ids = {}
  if #texts == 0 then return ids end
  local found = {}
  for from = 1, #texts, 1000 do  -- unpack is bounded by Lua's C stack
    local got = redis.call('HMGET', words_key, unpack(texts, from, math.min(from + 999, #texts)))
    for i = 1, #got do found[from + i - 1] = got[i] end
  end
  local next_id = nil
  for i = 1, #texts do
    if found[i] then
      ids[i] = found[i]
    elseif writing then
      next_id = (next_id or redis.call('HLEN', words_key)) + 1
      ids[i] = sites_base62(next_id, 1)
      redis.call('HSET', words_key, texts[i], ids[i])
    else
      ids[i] = '?' .. i
    end
  end
  return ids
end

-- A record's district and band suffix, "<district id>,<band id>", from its word references
-- "<district index>,<band index>" (1-based into word_ids, empty when absent); made once per
-- distinct references and kept in ``made``.
local function sites_word_suffix(made, word_ids, refs)
  local suffix = made[refs]
  if not suffix then
    local district, band = string.match(refs, '^([^,]*),(.*)$')
    suffix = (word_ids[tonumber(district)] or '') .. ',' .. (word_ids[tonumber(band)] or '')
    made[refs] = suffix
  end
  return suffix
end

-- The stored values of the sites, KEYS[first_key + j - 1] being the bucket of ids[j].
local function sites_lookup(first_key, ids)
  local stored = {}
  for j = 1, #ids do stored[j] = redis.call('HGET', KEYS[first_key + j - 1], ids[j]) end
  return stored
end

-- Which sites another city holds (positions, owner ids) and how many distinct ids nobody holds.
local function sites_claims(city_id, ids, stored)
  local elsewhere, unregistered, counted = {}, 0, {}
  for j = 1, #ids do
    local value = stored[j]
    if value then
      local owner = string.sub(value, 1, 2)
      if owner ~= city_id then elsewhere[#elsewhere + 1] = {j, owner} end
    elseif not counted[ids[j]] then
      unregistered = unregistered + 1
      counted[ids[j]] = true
    end
  end
  return elsewhere, unregistered
end

local function sites_registered(count_key)
  return tonumber(redis.call('GET', count_key) or '0')
end

-- Apply (or, without writing, preview) a 5G report's sites.
-- KEYS[k + 1] format, k + 2 v1 owner index, k + 3 city ids, k + 4 the city's site count,
--   k + 5 its words, k + 6 its site-days, then from k + 7 the bucket of each site in order.
-- ARGV[a] city, a + 1 most site ids the city may hold (0: no bound), a + 2 the report's
--   version, a + 3 and a + 4 the rejected-counts fields of site_registered_elsewhere and
--   site_limit_exceeded, a + 5 n words, then n words (district and band texts), then per site
--   one tab-separated argument: site_id, core, "<district word index>,<band word index>"
--   (indexes 1-based or empty). One argument per site, not three: redis-py packs every argument
--   in Python, and 30,000 of them per report cost the aggregator more than the split costs Lua.
-- Returns {'upgrading'} (the layout is not live: nothing read or written), {'rejected', errors,
-- count, rejected-counts field} (when writing; errors as v1 listed them, at most 100) or
-- {'done', created, updated, unchanged}.
--
-- A report that names a site another city holds, or that would take the city past its ceiling,
-- is rejected whole; without writing, the summary is still computed (the dry run lists those
-- errors from the accept script's check). A site listed twice counts once, then unchanged.
-- Per site the loop does one HGET and at most one HSET (a bucket each) and otherwise only
-- string work, the word and day texts resolved once per distinct value: 10,000 sites a report.
local function sites_apply(k, a, writing)
  if not sites_live(KEYS[k + 1], KEYS[k + 2], writing) then return {'upgrading'} end
  local call, sub = redis.call, string.sub
  local MAX_ERRORS = 100
  local city, max_sites, version = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2]
  local word_count = tonumber(ARGV[a + 5])
  local ids, cores, refs_of = {}, {}, {}
  for i = a + 6 + word_count, #ARGV do
    local j = #ids + 1
    ids[j], cores[j], refs_of[j] = string.match(ARGV[i], '^([^\t]*)\t([^\t]*)\t(.*)$')
  end
  local city_id = sites_city_id(KEYS[k + 3], city, false)
  local stored = sites_lookup(k + 7, ids)
  local elsewhere, unregistered = sites_claims(city_id, ids, stored)
  local errors, error_count, first_field = {}, 0, nil
  local function reject_with(item, field)
    error_count = error_count + 1
    if error_count <= MAX_ERRORS then errors[error_count] = item end
    first_field = first_field or field
  end
  local owner_name = sites_owner_names(KEYS[k + 3])
  for _, found in ipairs(elsewhere) do
    local j = found[1]
    reject_with({loc = {'body', 'sites', j - 1, 'site_id'}, code = 'site_registered_elsewhere',
      site_id = ids[j], owner = owner_name(found[2])}, ARGV[a + 3])
  end
  if max_sites > 0 and unregistered > 0 then
    local registered = sites_registered(KEYS[k + 4])
    if registered + unregistered > max_sites then
      reject_with({loc = {'body', 'sites'}, code = 'site_limit_exceeded', new = unregistered,
        registered = registered, limit = max_sites}, ARGV[a + 4])
    end
  end
  if error_count > 0 and writing then
    if error_count > MAX_ERRORS then
      errors[MAX_ERRORS] = {loc = {'body', 'sites'}, code = 'too_many_errors', count = error_count}
    end
    return {'rejected', errors, error_count, first_field}
  end
  local texts = {}
  for i = 1, word_count do texts[i] = ARGV[a + 5 + i] end
  local word_ids = sites_intern(KEYS[k + 5], texts, writing)
  if writing then city_id = city_id or sites_city_id(KEYS[k + 3], city, true) end
  local head = (city_id or '??') .. version
  local owner = city_id or '??'
  local created, updated, unchanged, registered_now = 0, 0, 0, 0
  local day_deltas, days, suffixes, seen = {}, {}, {}, {}
  local function count_day(record, delta)
    if sub(record, 1, 1) == 'i' then
      local code = sub(record, 2, 4)
      local day = days[code]
      if not day then
        day = sites_iso_day(sites_from_base62(code))
        days[code] = day
      end
      day_deltas[day] = (day_deltas[day] or 0) + delta
    end
  end
  local buckets_from = k + 6
  for j = 1, #ids do
    local site = ids[j]
    local refs = refs_of[j]
    local record = cores[j] .. sites_word_suffix(suffixes, word_ids, refs)
    local previous = stored[j]
    if seen[site] then
      -- listed twice in one report: the second copy has the same version, so it changes nothing
      unchanged = unchanged + 1
    elseif not previous or sub(previous, SITES_RECORD_AT) == '' then
      -- new, or claimed by the city without a record yet
      created = created + 1
      if not previous then registered_now = registered_now + 1 end
      if writing then call('HSET', KEYS[buckets_from + j], site, head .. record) end
      count_day(record, 1)
    elseif sub(previous, 1, 2) ~= owner then
      unchanged = unchanged + 1  -- held elsewhere (only when previewing: writing rejected it)
    else
      local stored_record = sub(previous, SITES_RECORD_AT)
      if version <= sub(previous, 3, SITES_RECORD_AT - 1) or record == stored_record then
        unchanged = unchanged + 1
      else
        updated = updated + 1
        if writing then call('HSET', KEYS[buckets_from + j], site, head .. record) end
        count_day(stored_record, -1)
        count_day(record, 1)
      end
    end
    seen[site] = true
  end
  if writing then
    if registered_now > 0 then call('INCRBY', KEYS[k + 4], registered_now) end
    for day, delta in pairs(day_deltas) do
      if delta ~= 0 and call('HINCRBY', KEYS[k + 6], day, delta) <= 0 then
        call('HDEL', KEYS[k + 6], day)
      end
    end
  end
  return {'done', created, updated, unchanged}
end
"""

# The dry run's preview: ``sites_apply`` without writing. KEYS and ARGV as ``sites_apply``'s
# with k = 0 and a = 1.
PREVIEW = (
    FUNCTIONS
    + r"""
return sites_apply(0, 1, false)
"""
)

# An admin releases a site id: it leaves its owner's registry and count and, if the owner holds
# it in service, that city's count of its commissioning day. The caller names the owner it
# expects (the keys depend on it); "moved" hands back the actual owner to try again with.
# KEYS: 1 format, 2 v1 owner index, 3 the site's bucket, 4 city ids, 5 the owner's site count,
#       6 the owner's site-days, 7 the state generations. ARGV: 1 site_id, 2 expected owner.
# Returns {'released', owner, 1 if it counted as in service else 0}, {'unknown'},
# {'moved', owner} or {'upgrading'}.
RELEASE = (
    FUNCTIONS
    + r"""
if not sites_live(KEYS[1], KEYS[2], false) then return {'upgrading'} end
local value = redis.call('HGET', KEYS[3], ARGV[1])
if not value then return {'unknown'} end
local owner = redis.call('HGET', KEYS[4], '#' .. string.sub(value, 1, 2))
if owner ~= ARGV[2] then return {'moved', owner} end
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('DECR', KEYS[5]) <= 0 then redis.call('DEL', KEYS[5]) end
local record = string.sub(value, SITES_RECORD_AT)
local in_service = 0
if string.sub(record, 1, 1) == 'i' then
  in_service = 1
  local day = sites_iso_day(sites_from_base62(string.sub(record, 2, 4)))
  if redis.call('HINCRBY', KEYS[6], day, -1) <= 0 then redis.call('HDEL', KEYS[6], day) end
  redis.call('HINCRBY', KEYS[7], owner, 1)  -- the owner's judged state changed
end
return {'released', owner, in_service}
"""
)

# Tests of the date arithmetic: ARGV day numbers -> their dates.
ISO_DAYS = (
    FUNCTIONS
    + r"""
local days = {}
for i = 1, #ARGV do days[i] = sites_iso_day(tonumber(ARGV[i])) end
return days
"""
)
