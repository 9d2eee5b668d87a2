"""The accept script: records a report id and appends the report to the stream in one step.

A retry after a timeout (same id, same body) finds the record and appends nothing; the same id
with another body is a conflict. If the stream has vanished (a Redis wiped empty) it recreates the
consumer groups at id 0 first, so no consumer can miss the entry.
"""

from __future__ import annotations

# KEYS: 1 report record, 2 reports stream.
# ARGV: 1 fingerprint, 2 received_at, 3 city, 4 kind, 5 report_id, 6 payload, 7.. consumer groups.
ACCEPT = r"""
local previous = redis.call('HMGET', KEYS[1], 'fingerprint', 'received_at')
if previous[1] then
  if previous[1] == ARGV[1] then return {'duplicate', previous[2]} end
  return {'conflict', previous[2]}
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  for i = 7, #ARGV do
    redis.call('XGROUP', 'CREATE', KEYS[2], ARGV[i], '0', 'MKSTREAM')
  end
end
local entry_id = redis.call('XADD', KEYS[2], '*', 'report_id', ARGV[5], 'city', ARGV[3],
  'kind', ARGV[4], 'received_at', ARGV[2], 'payload', ARGV[6])
redis.call('HSET', KEYS[1], 'report_id', ARGV[5], 'city', ARGV[3], 'kind', ARGV[4],
  'status', 'accepted', 'received_at', ARGV[2], 'fingerprint', ARGV[1], 'entry_id', entry_id)
return {'accepted', ARGV[2]}
"""
