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

Site owners: a 5G report whose sites are registered to another city (``names.SITE_OWNER_KEY``)
is refused before anything else, with each such site's position and owner, and nothing is written:
the same answer, in the same order of checks, as the ingest's own look-up before the script did it
(one round trip instead of two). It comes before "duplicate" and "conflict" as that look-up did.
The ids are looked up in chunks: Lua's ``unpack`` cannot spread 10,000 arguments at once.

If the stream has vanished (a Redis wiped empty) it recreates the consumer groups at id 0 first,
so no consumer can miss the entry.
"""

from __future__ import annotations

# KEYS: 1 report record, 2 reports stream, 3 site owners (site_id -> city).
# ARGV: 1 fingerprint, 2 received_at, 3 city, 4 kind, 5 report_id, 6 payload,
#       7 max backlog (0: no bound), 8 number of consumer groups n, 9..8+n consumer groups,
#       9+n.. the report's site ids in order (none for a gigabit report).
# Returns {result, received_at, backlog, ...}: result accepted, duplicate, conflict, backpressure
# or elsewhere; backlog is the slowest group's backlog the script saw (0 when it did not look);
# after "elsewhere" come pairs (0-based position of the site in the report, city it belongs to).
ACCEPT = r"""
local groups = tonumber(ARGV[8])
local first_site = 9 + groups
local elsewhere = {'elsewhere', ARGV[2], 0}
for from = first_site, #ARGV, 1000 do
  local to = math.min(from + 999, #ARGV)
  local owners = redis.call('HMGET', KEYS[3], unpack(ARGV, from, to))
  for i = 1, #owners do
    if owners[i] and owners[i] ~= ARGV[3] then
      elsewhere[#elsewhere + 1] = from + i - 1 - first_site
      elsewhere[#elsewhere + 1] = owners[i]
    end
  end
end
if #elsewhere > 3 then return elsewhere end
local previous = redis.call('HMGET', KEYS[1], 'fingerprint', 'received_at')
if previous[1] then
  if previous[1] == ARGV[1] then return {'duplicate', previous[2], 0} end
  return {'conflict', previous[2], 0}
end
local max_backlog = tonumber(ARGV[7])
local backlog = 0
if redis.call('EXISTS', KEYS[2]) == 0 then
  for i = 9, 8 + groups do
    redis.call('XGROUP', 'CREATE', KEYS[2], ARGV[i], '0', 'MKSTREAM')
  end
elseif max_backlog > 0 then
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
  if backlog >= max_backlog then return {'backpressure', ARGV[2], backlog} end
end
local entry_id = redis.call('XADD', KEYS[2], '*', 'report_id', ARGV[5], 'city', ARGV[3],
  'kind', ARGV[4], 'received_at', ARGV[2], 'payload', ARGV[6])
redis.call('HSET', KEYS[1], 'report_id', ARGV[5], 'city', ARGV[3], 'kind', ARGV[4],
  'status', 'accepted', 'received_at', ARGV[2], 'fingerprint', ARGV[1], 'entry_id', entry_id)
return {'accepted', ARGV[2], backlog}
"""
