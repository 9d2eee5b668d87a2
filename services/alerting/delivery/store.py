"""The delivery worker's Redis operations: claim due deliveries, read them, record outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from services.alerting.delivery import scripts
from shared import names
from shared.store.replication import ReplicaQuorum, run_replicated
from shared.wire_alerts import DeliveryStatus, Subscription
from shared.wire_deliveries import Attempt, DeliveryRecord, encode_attempts


@dataclass(frozen=True)
class Claimed:
    record: DeliveryRecord
    attempts_as_read: str
    """The stored attempts, verbatim: the compare-and-set token of RECORD."""


class UnreplicatedError(Exception):
    """Fewer replicas than the quorum confirmed the claimed deliveries in time."""


class DeliveryStore:
    def __init__(self, redis: Redis, retention_s: int, quorum: ReplicaQuorum | None = None) -> None:
        self._redis = redis
        self._retention_s = retention_s
        self._quorum = quorum or ReplicaQuorum()
        self._claim = redis.register_script(scripts.CLAIM)
        self._record = redis.register_script(scripts.RECORD)

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

    async def subscription(self, subscription_id: str) -> Subscription | None:
        raw = await self._redis.hget(names.SUBSCRIPTIONS_KEY, subscription_id)
        return Subscription.model_validate_json(raw) if raw else None

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
