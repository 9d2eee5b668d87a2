"""The ingest's Redis operations on subscriptions and their recent deliveries."""

from __future__ import annotations

from redis.asyncio import Redis

from shared import names
from shared.wire_alerts import (
    ACTIVE_FIELD,
    STATE_FORMAT_FIELD,
    SUBSCRIPTION_FIELD,
    TYPE_FIELD,
    Subscription,
)
from shared.wire_deliveries import HISTORY_CAP, DeliveryRecord

# Stores the subscription and appends its creation to the alerts stream with the active alerts of
# that instant, and records that entry's id as where the subscription's alerts start. The alerting
# service's fan-out turns the entry into the subscription's first deliveries (the alerts active
# now, as firing) and sends it only the notifications of later entries: in one step, so no
# evaluation can fall between the snapshot and the start (a change missed or told twice). The
# ingest never writes the delivery queue itself.
# KEYS: 1 subscriptions, 2 active alerts, 3 alerts-state format, 4 alerts stream, 5 alerts-from.
# ARGV: 1 id, 2 subscription JSON, 3 type field, 4 type, 5 subscription field, 6 format field,
#       7 active field.
_CREATE = r"""
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local active = redis.call('HGETALL', KEYS[2])
local format = redis.call('GET', KEYS[3]) or ''
local entry = redis.call('XADD', KEYS[4], '*', ARGV[3], ARGV[4], ARGV[5], ARGV[1],
  ARGV[6], format, ARGV[7], cjson.encode(active))
redis.call('HSET', KEYS[5], ARGV[1], entry)
return entry
"""

# Removes the subscription and its delivery history, and makes its pending deliveries due now:
# the delivery worker then dead-letters them ("subscription deleted") instead of at their next
# retry, which could be minutes away.
# KEYS: 1 subscriptions, 2 the subscription's delivery ids, 3 deliveries due, 4 alerts-from.
# ARGV: 1 id.
_DELETE = r"""
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[4], ARGV[1])
for _, delivery in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  redis.call('ZADD', KEYS[3], 'XX', 'LT', 0, delivery)
end
redis.call('DEL', KEYS[2])
return 1
"""


class SubscriptionStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._create = redis.register_script(_CREATE)
        self._delete = redis.register_script(_DELETE)

    async def create(self, subscription: Subscription) -> str:
        """Store it; the id of its creation entry on the alerts stream."""
        keys = [
            names.SUBSCRIPTIONS_KEY,
            names.ACTIVE_ALERTS_KEY,
            names.ALERTS_STATE_FORMAT_KEY,
            names.ALERTS_STREAM,
            names.SUBSCRIPTION_ALERTS_FROM_KEY,
        ]
        args = [
            subscription.id,
            subscription.model_dump_json(),
            TYPE_FIELD,
            names.ALERTS_ENTRY_SUBSCRIBED,
            SUBSCRIPTION_FIELD,
            STATE_FORMAT_FIELD,
            ACTIVE_FIELD,
        ]
        return str(await self._create(keys=keys, args=args))

    async def get(self, subscription_id: str) -> Subscription | None:
        raw = await self._redis.hget(names.SUBSCRIPTIONS_KEY, subscription_id)
        return Subscription.model_validate_json(raw) if raw else None

    async def all(self) -> list[Subscription]:
        raw = await self._redis.hgetall(names.SUBSCRIPTIONS_KEY)
        subscriptions = [Subscription.model_validate_json(doc) for doc in raw.values()]
        return sorted(subscriptions, key=lambda s: (s.created_at, s.id))

    async def delete(self, subscription_id: str) -> bool:
        keys = [
            names.SUBSCRIPTIONS_KEY,
            names.subscription_deliveries_key(subscription_id),
            names.DELIVERIES_DUE_KEY,
            names.SUBSCRIPTION_ALERTS_FROM_KEY,
        ]
        return bool(await self._delete(keys=keys, args=[subscription_id]))

    async def deliveries(
        self, subscription_id: str, limit: int = HISTORY_CAP
    ) -> list[DeliveryRecord]:
        """The most recent deliveries, newest first (records already expired are skipped)."""
        ids = await self._redis.lrange(
            names.subscription_deliveries_key(subscription_id), 0, limit - 1
        )
        async with self._redis.pipeline(transaction=False) as pipe:
            for delivery_id in ids:
                pipe.hgetall(names.delivery_key(str(delivery_id)))
            found: list[dict[str, str]] = await pipe.execute()
        return [DeliveryRecord.from_hash(fields) for fields in found if fields]
