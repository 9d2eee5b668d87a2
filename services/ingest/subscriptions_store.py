"""The ingest's Redis operations on subscriptions and their recent deliveries."""

from __future__ import annotations

from redis.asyncio import Redis

from shared import names
from shared.wire_alerts import Subscription
from shared.wire_deliveries import HISTORY_CAP, DeliveryRecord

# Removes the subscription and its delivery history, and makes its pending deliveries due now:
# the delivery worker then dead-letters them ("subscription deleted") instead of at their next
# retry, which could be minutes away.
# KEYS: 1 subscriptions, 2 the subscription's delivery ids, 3 deliveries due. ARGV: 1 id.
_DELETE = r"""
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
for _, delivery in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  redis.call('ZADD', KEYS[3], 'XX', 'LT', 0, delivery)
end
redis.call('DEL', KEYS[2])
return 1
"""


class SubscriptionStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._delete = redis.register_script(_DELETE)

    async def create(self, subscription: Subscription) -> None:
        await self._redis.hset(
            names.SUBSCRIPTIONS_KEY, subscription.id, subscription.model_dump_json()
        )

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
