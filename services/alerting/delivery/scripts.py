"""Lua scripts that make each step of a delivery atomic.

- FAN_OUT creates an alerts-stream entry's deliveries and acknowledges the entry in one step. A
  delivery id is derived from (entry, subscription, group), so a redelivered entry creates nothing
  twice, and a subscription deleted meanwhile gets nothing.
- CLAIM takes due deliveries by pushing their due time to the end of a lease: two workers never
  hold the same delivery, and a crashed worker's deliveries become due again when the lease ends.
- RECORD writes an attempt's outcome only if the attempts are still those the worker read (a
  compare-and-set): a worker that outlived its lease cannot overwrite a newer outcome.
"""

from __future__ import annotations

# KEYS: 1 alerts stream, 2 subscriptions, 3 deliveries due, then per delivery: its hash, the
#       subscription's delivery history.
# ARGV: 1 group, 2 entry id, 3 due score, 4 history cap, then per delivery: subscription id,
#       delivery id, number of hash items, the hash's field/value items.
FAN_OUT = r"""
local created = 0
local arg = 5
for key = 4, #KEYS, 2 do
  local subscription, delivery, items = ARGV[arg], ARGV[arg + 1], tonumber(ARGV[arg + 2])
  local first = arg + 3
  arg = first + items
  if redis.call('HEXISTS', KEYS[2], subscription) == 1
      and redis.call('EXISTS', KEYS[key]) == 0 then
    redis.call('HSET', KEYS[key], unpack(ARGV, first, first + items - 1))
    redis.call('ZADD', KEYS[3], ARGV[3], delivery)
    redis.call('LPUSH', KEYS[key + 1], delivery)
    redis.call('LTRIM', KEYS[key + 1], 0, tonumber(ARGV[4]) - 1)
    created = created + 1
  end
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return created
"""

# KEYS: 1 deliveries due. ARGV: 1 now, 2 lease end, 3 how many at most.
CLAIM = r"""
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, delivery in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], delivery)
end
return due
"""

# KEYS: 1 the delivery's hash, 2 deliveries due.
# ARGV: 1 delivery id, 2 attempts as read, 3 attempts now, 4 status, 5 next due score,
#       6 next_attempt_at, 7 error, 8 seconds a finished delivery is kept.
RECORD = r"""
if redis.call('HGET', KEYS[1], 'status') ~= 'pending'
    or redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'attempts', ARGV[3], 'status', ARGV[4], 'next_attempt_at', ARGV[6],
  'error', ARGV[7])
if ARGV[4] == 'pending' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[8]))
end
return 1
"""
