"""The deliveries family: webhook deliveries, their queue and each subscription's recent ones.

Owns ``names.delivery_key`` (a delivery's hash), ``names.DELIVERIES_DUE_KEY`` (delivery id -> the
unix time of its next attempt: the queue) and ``names.subscription_deliveries_key`` (a
subscription's recent delivery ids, newest first). The alerting service creates deliveries from
alerts-stream entries (``create_from_entry``) and works the queue (``claim``, ``load``,
``record``); the ingest lists a subscription's recent deliveries and, when the subscription is
deleted, asks this family to end its pending ones (``end_for_subscription``).

Each step is one Lua script, so it is atomic:
- CREATE makes an alerts-stream entry's deliveries and acknowledges the entry in one step. A
  delivery id is derived from (entry, subscription, group), so a redelivered entry creates nothing
  twice, and a subscription deleted meanwhile gets nothing.
- CLAIM takes due deliveries by pushing their due time to the end of a lease: two workers never
  hold the same delivery, and a crashed worker's deliveries become due again when the lease ends.
- RECORD writes an attempt's outcome only if the attempts are still those the worker read (a
  compare-and-set): a worker that outlived its lease cannot overwrite a newer outcome.
- END_FOR_SUBSCRIPTION makes a deleted subscription's pending deliveries due now, so the worker
  dead-letters them ("subscription deleted") at once instead of at their next retry, minutes
  away, and drops its history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from shared import names
from shared.store.client import StoreClient
from shared.store.replication import ReplicaQuorum, run_replicated
from shared.wire_alerts import DeliveryStatus
from shared.wire_deliveries import HISTORY_CAP, Attempt, DeliveryRecord, encode_attempts

# KEYS: 1 alerts stream, 2 subscriptions, 3 deliveries due, then per delivery: its hash, the
#       subscription's delivery history.
# ARGV: 1 group, 2 entry id, 3 due score, 4 history cap, then per delivery: subscription id,
#       delivery id, number of hash items, the hash's field/value items.
_CREATE = r"""
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
_CLAIM = r"""
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, delivery in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], delivery)
end
return due
"""

# KEYS: 1 the delivery's hash, 2 deliveries due.
# ARGV: 1 delivery id, 2 attempts as read, 3 attempts now, 4 status, 5 next due score,
#       6 next_attempt_at, 7 error, 8 seconds a finished delivery is kept.
_RECORD = r"""
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

# KEYS: 1 the subscription's delivery ids, 2 deliveries due.
_END_FOR_SUBSCRIPTION = r"""
for _, delivery in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  redis.call('ZADD', KEYS[2], 'XX', 'LT', 0, delivery)
end
redis.call('DEL', KEYS[1])
return 1
"""


@dataclass(frozen=True)
class Claimed:
    record: DeliveryRecord
    attempts_as_read: str
    """The stored attempts, verbatim: the compare-and-set token of RECORD."""


class UnreplicatedError(Exception):
    """Fewer replicas than the quorum confirmed the claimed deliveries in time."""


class Deliveries:
    def __init__(
        self, redis: StoreClient, retention_s: int = 0, quorum: ReplicaQuorum | None = None
    ) -> None:
        """``retention_s``: how long a finished delivery is kept (the worker's setting)."""
        self._redis = redis
        self._retention_s = retention_s
        self._quorum = quorum or ReplicaQuorum()
        self._create = redis.register_script(_CREATE)
        self._claim = redis.register_script(_CLAIM)
        self._record = redis.register_script(_RECORD)
        self._end_for_subscription = redis.register_script(_END_FOR_SUBSCRIPTION)

    async def create_from_entry(
        self, group: str, entry_id: str, records: Sequence[DeliveryRecord], due_at: float
    ) -> int:
        """Create ``records`` (due at ``due_at``) and XACK the alerts-stream entry they came from,
        in one step; the number created (a redelivered entry, or a deleted subscription's
        records, create nothing)."""
        keys = [names.ALERTS_STREAM, names.SUBSCRIPTIONS_KEY, names.DELIVERIES_DUE_KEY]
        args: list[str | int] = [group, entry_id, repr(due_at), HISTORY_CAP]
        for record in records:
            items = [item for pair in record.to_hash().items() for item in pair]
            keys += [
                names.delivery_key(record.id),
                names.subscription_deliveries_key(record.subscription_id),
            ]
            args += [record.subscription_id, record.id, len(items), *items]
        return int(await self._create(keys=keys, args=args))

    async def acknowledge_unreadable(self, group: str, entry_id: str) -> None:
        """An alerts-stream entry no retry can read: acknowledged, nothing created."""
        await self._redis.xack(names.ALERTS_STREAM, group, entry_id)

    async def claim(self, now: float, lease_end: float, limit: int) -> list[str]:
        """Ids of up to ``limit`` due deliveries, now leased to the caller until ``lease_end``.

        With a quorum (``PACER_REDIS_MIN_REPLICAS``), only once that many replicas hold the claim,
        and with it everything written before: the deliveries, the alert transitions they tell
        of. A webhook about a transition a failover could still lose would be sent again, under
        another delivery id, when the new primary's evaluator finds the transition anew. Without
        the confirmation the deliveries are handed back, due now, and ``UnreplicatedError``
        raised (the worker pauses and claims again)."""
        keys = [names.DELIVERIES_DUE_KEY]
        args: list[str | int | float] = [repr(now), repr(lease_end), limit]
        if not self._quorum.required:
            return [str(i) for i in await self._claim(keys=keys, args=args)]
        ids, replicated = await run_replicated(self._redis, self._claim, keys, args, self._quorum)
        claimed = [str(i) for i in ids]
        if not replicated:
            if claimed:
                due_now = dict.fromkeys(claimed, now)
                await self._redis.zadd(names.DELIVERIES_DUE_KEY, due_now, xx=True)
            raise UnreplicatedError(
                f"fewer than {self._quorum.replicas} replica(s) confirmed within "
                f"{self._quorum.timeout_ms} ms: {len(claimed)} due deliveries not sent yet"
            )
        return claimed

    async def load(self, delivery_id: str) -> Claimed | None:
        raw = await self._redis.hgetall(names.delivery_key(delivery_id))
        fields = {str(k): str(v) for k, v in raw.items()}
        if not fields:
            return None
        return Claimed(DeliveryRecord.from_hash(fields), fields.get("attempts", "[]"))

    async def forget(self, delivery_id: str) -> None:
        """Drop a due entry whose delivery is finished or gone."""
        await self._redis.zrem(names.DELIVERIES_DUE_KEY, delivery_id)

    async def record(
        self,
        claimed: Claimed,
        attempts: list[Attempt],
        status: DeliveryStatus,
        next_attempt_at: float | None = None,
        error: str = "",
    ) -> bool:
        """Store the outcome; False when another worker recorded one first."""
        next_iso = (
            datetime.fromtimestamp(next_attempt_at, UTC).isoformat() if next_attempt_at else ""
        )
        delivery_id = claimed.record.id
        stored = await self._record(
            keys=[names.delivery_key(delivery_id), names.DELIVERIES_DUE_KEY],
            args=[
                delivery_id,
                claimed.attempts_as_read,
                encode_attempts(attempts),
                status,
                repr(next_attempt_at or 0.0),
                next_iso,
                error,
                self._retention_s,
            ],
        )
        return bool(stored)

    async def recent(self, subscription_id: str, limit: int = HISTORY_CAP) -> list[DeliveryRecord]:
        """A subscription's most recent deliveries, newest first (expired records skipped)."""
        ids = await self._redis.lrange(
            names.subscription_deliveries_key(subscription_id), 0, limit - 1
        )
        async with self._redis.pipeline(transaction=False) as pipe:
            for delivery_id in ids:
                pipe.hgetall(names.delivery_key(str(delivery_id)))
            found: list[dict[str, str]] = await pipe.execute()
        return [DeliveryRecord.from_hash(fields) for fields in found if fields]

    async def end_for_subscription(self, subscription_id: str) -> None:
        """A deleted subscription's pending deliveries: due now (the worker dead-letters them),
        and its history dropped."""
        keys = [names.subscription_deliveries_key(subscription_id), names.DELIVERIES_DUE_KEY]
        await self._end_for_subscription(keys=keys, args=[])
