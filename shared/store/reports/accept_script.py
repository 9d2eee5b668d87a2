"""The accept script: records a report id and appends the report to the stream in one step.

A retry after a timeout (same id, same body) finds the record and appends nothing; the same id
with another body is a conflict. Both answers come before the backlog check, so a client retrying
a report that was already accepted hears "duplicate", never "come back later".

Backpressure: when the slowest consumer group of the stream already has ``max_backlog`` entries
to work through (not yet delivered, ``lag``, plus delivered but unacknowledged, ``pending``), the
report is refused and nothing is written. The check runs inside the script, so two ingest
instances cannot both slip past the bound. ``lag`` is nil when Redis cannot tell (entries deleted
with XDEL, which Pacer never does) and absent before Redis 7.0; the script then counts every entry
still in the stream: an overestimate by at most what the aggregator acknowledged since its last
trim (every 10 s), never an underestimate, since trimming keeps every entry a group still needs.
For the same reason no group's backlog exceeds the stream's length: a stream shorter than the
bound is not looked into (``backlog`` is then 0).

Sites: a 5G report is refused before anything else when one of its sites is registered to
another city (the sites family's ``sites_claims``, the check the aggregator applies with), with
each such site's position and owner, and nothing is
written: the same answer, in the same order of checks, as the ingest's own look-up before the
script did it (one round trip instead of two). It comes before "duplicate" and "conflict" as that
look-up did. The ids are looked up in chunks: Lua's ``unpack`` cannot spread 10,000 arguments at
once. A report that would take its city past its ceiling of registered site ids (the ones it
holds plus the report's ids nobody holds yet) is refused too, after "duplicate" and "conflict"
(a retry of an accepted report is answered as before). In mode ``check`` the script only reports
what it found about the sites and writes nothing: the dry run and a report refused for other
reasons use it, so those rules live here only. In mode ``confirm`` (``PACER_REDIS_MIN_REPLICAS``
above 0) the store follows the script with a ``WAIT``; a duplicate then rewrites one field of its
record unchanged, so that the ``WAIT`` covers the record whichever connection first wrote it.

Report ids are scoped to their city: the record is the city's (``names.report_key``) and the
accepted report joins the city's index. A record an older Pacer stored at the pre-v2 key for this
city is handed back (``legacy``): the store moves it under the city and runs the script again.

If the stream has vanished (a Redis wiped empty) it recreates the consumer groups at id 0 first,
so no consumer can miss the entry.
"""

from __future__ import annotations

from shared.store.sites import scripts as sites_scripts

# KEYS: 1 report record, 2 reports stream, 3 the city's report index, 4 the id's pre-v2 record,
#       then for a 5G report the sites family's (``shared.store.sites.calls.claim_keys``: from 5
#       its format, v1 owner index, city ids, the city's site count, then from 9 the bucket of
#       each site id in order).
# ARGV: 1 fingerprint, 2 received_at, 3 city, 4 kind, 5 report_id, 6 payload,
#       7 max backlog (0: no bound), 8 most site ids a city may hold (0: no bound),
#       9 mode (store; confirm: store, and a duplicate rewrites its record so that a WAIT
#       after the script covers it; check), 10 receipt as epoch seconds (the index score),
#       11 number of consumer groups n, 12..11+n consumer groups,
#       12+n.. the report's site ids in order (none for a gigabit report).
# Returns {result, received_at, backlog, registered, unregistered, ...}: result accepted,
# duplicate, conflict, backpressure, legacy, refused (sites registered elsewhere or over the
# ceiling), upgrading (a 5G report while ``pacer migrate`` moves the sites: nothing written) or
# checked (mode check); backlog is the slowest group's backlog the script saw (0 when
# it did not look); registered is how many site ids the city holds and unregistered how many of
# the report's ids nobody holds (both 0 when the report names no new id); then pairs (0-based
# position of the site in the report, city it belongs to) for the sites held elsewhere.
ACCEPT = (
    sites_scripts.FUNCTIONS
    + r"""
local groups = tonumber(ARGV[11])
local first_site = 12 + groups
local city = ARGV[3]
local sites = {'refused', ARGV[2], 0, 0, 0}
local over = false
if ARGV[4] == '"""
    + sites_scripts.SITES_KIND
    + r"""' then
  if not sites_live(KEYS[5], KEYS[6], false) then return {'upgrading', ARGV[2], 0, 0, 0} end
  local ids = {}
  for i = first_site, #ARGV do ids[#ids + 1] = ARGV[i] end
  local stored = sites_lookup(9, ids)
  local elsewhere, unregistered = sites_claims(sites_city_id(KEYS[7], city, false), ids, stored)
  local owner_name = sites_owner_names(KEYS[7])
  for _, found in ipairs(elsewhere) do
    sites[#sites + 1] = found[1] - 1
    sites[#sites + 1] = owner_name(found[2])
  end
  if unregistered > 0 then
    local registered = sites_registered(KEYS[8])
    local max_sites = tonumber(ARGV[8])
    sites[4], sites[5] = registered, unregistered
    over = max_sites > 0 and registered + unregistered > max_sites
  end
end
if ARGV[9] == 'check' then
  sites[1] = 'checked'
  return sites
end
if #sites > 5 then return sites end
local previous = redis.call('HMGET', KEYS[1], 'fingerprint', 'received_at')
if not previous[1] and redis.call('HGET', KEYS[4], 'city') == city then
  return {'legacy', ARGV[2], 0, 0, 0}
end
if previous[1] then
  if previous[1] == ARGV[1] then
    if ARGV[9] == 'confirm' then
      -- Rewritten unchanged: the record enters this connection's replication offset, so the
      -- WAIT that follows confirms a duplicate only once the replicas hold the report too
      -- (Redis 7.0 counts every write made before the connection's last command anyway; later
      -- versions only the connection's own).
      redis.call('HSET', KEYS[1], 'fingerprint', previous[1])
    end
    return {'duplicate', previous[2], 0, 0, 0}
  end
  return {'conflict', previous[2], 0, 0, 0}
end
if over then return sites end
local max_backlog = tonumber(ARGV[7])
local backlog = 0
if redis.call('EXISTS', KEYS[2]) == 0 then
  for i = 12, 11 + groups do
    redis.call('XGROUP', 'CREATE', KEYS[2], ARGV[i], '0', 'MKSTREAM')
  end
elseif max_backlog > 0 and redis.call('XLEN', KEYS[2]) >= max_backlog then
  -- No group can be further behind than the stream is long (see the docstring), so a stream
  -- shorter than the bound needs no XINFO: the common case, the aggregator trimming behind it.
  local length = nil
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[2])) do
    local pending, lag = 0, false
    for i = 1, #group, 2 do
      if group[i] == 'pending' then pending = group[i + 1]
      elseif group[i] == 'lag' then lag = group[i + 1] end
    end
    local behind
    length = length or redis.call('XLEN', KEYS[2])
    if lag then
      -- Redis 7.0 can report a lag that stays too high after a restart (entries-read comes back
      -- from the last AOF rewrite); unread entries are never trimmed, so the length bounds it.
      behind = math.min(lag, length) + pending
    else
      behind = length
    end
    if behind > backlog then backlog = behind end
  end
  if backlog >= max_backlog then return {'backpressure', ARGV[2], backlog, 0, 0} end
end
local entry_id = redis.call('XADD', KEYS[2], '*', 'report_id', ARGV[5], 'city', city,
  'kind', ARGV[4], 'received_at', ARGV[2], 'payload', ARGV[6])
redis.call('HSET', KEYS[1], 'report_id', ARGV[5], 'city', city, 'kind', ARGV[4],
  'status', 'accepted', 'received_at', ARGV[2], 'fingerprint', ARGV[1], 'entry_id', entry_id)
redis.call('ZADD', KEYS[3], ARGV[10], ARGV[5])
return {'accepted', ARGV[2], backlog, 0, 0}
"""
)

# One page of a city's reports, newest first: the ids after ``before`` (none: from the newest).
# KEYS: 1 the city's report index. ARGV: 1 how many, 2 before ('' for the first page).
# Returns the ids, or false when ``before`` is not one of the city's reports.
REPORT_PAGE = r"""
local start = 0
if ARGV[2] ~= '' then
  local rank = redis.call('ZREVRANK', KEYS[1], ARGV[2])
  if not rank then return false end
  start = rank + 1
end
return redis.call('ZREVRANGE', KEYS[1], start, start + tonumber(ARGV[1]) - 1)
"""
