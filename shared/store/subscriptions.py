"""The subscriptions family: webhook subscriptions and where each one's alerts start.

Owns ``names.SUBSCRIPTIONS_KEY`` (id -> the subscription's JSON, its secret included: never
returned by the API) and ``names.SUBSCRIPTION_ALERTS_FROM_KEY`` (id -> the alerts-stream entry of
its creation). The ingest creates, lists and deletes subscriptions; the alerting service's fan-out
and delivery worker read them. A subscription's deliveries belong to ``shared.store.deliveries``.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from shared import names
from shared.store.client import StoreClient
from shared.wire_alerts import (
    ACTIVE_FIELD,
    STATE_FORMAT_FIELD,
    SUBSCRIPTION_FIELD,
    TYPE_FIELD,
    Subscription,
)

log = logging.getLogger("pacer.store.subscriptions")

# Stores the subscription and appends its creation to the alerts stream with the active alerts of
# that instant, and records that entry's id as where the subscription's alerts start. The alerting
# service's fan-out turns the entry into the subscription's first deliveries (the alerts active
# now, as firing) and sends it only the notifications of later entries: in one step, so no
# evaluation can fall between the snapshot and the start (a change missed or told twice). The
# entry is encoded here, in Lua, because the snapshot must be read in the same step; its fields
# are named by ``shared.wire_alerts`` and decoded by ``decode_alerts_entry``.
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

# Removes the subscription and where its alerts start, in one step.
# KEYS: 1 subscriptions, 2 alerts-from. ARGV: 1 id.
_DELETE = r"""
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""


class SubscriptionStore:
    def __init__(self, redis: StoreClient) -> None:
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
        """Every subscription, oldest first; one that does not read (written by a newer Pacer,
        or damaged) is logged and left out rather than failing the whole list."""
        found = []
        for subscription_id, raw in (await self._redis.hgetall(names.SUBSCRIPTIONS_KEY)).items():
            try:
                found.append(Subscription.model_validate_json(raw))
            except ValidationError:
                log.error("subscription %s is not readable: skipped", subscription_id)
        return sorted(found, key=lambda s: (s.created_at, s.id))

    async def alerts_from(self) -> dict[str, str]:
        """Subscription id -> the alerts-stream entry id of its creation."""
        raw = await self._redis.hgetall(names.SUBSCRIPTION_ALERTS_FROM_KEY)
        return {str(k): str(v) for k, v in raw.items()}

    async def delete(self, subscription_id: str) -> bool:
        """False if there was no such subscription. Its deliveries are the deliveries family's
        to end (``Deliveries.end_for_subscription``), after this."""
        keys = [names.SUBSCRIPTIONS_KEY, names.SUBSCRIPTION_ALERTS_FROM_KEY]
        return bool(await self._delete(keys=keys, args=[subscription_id]))
