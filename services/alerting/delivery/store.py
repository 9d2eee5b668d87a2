"""The delivery worker's Redis operations: claim due deliveries, read them, record outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from services.alerting.delivery import scripts
from shared import names
from shared.wire_alerts import DeliveryStatus, Subscription
from shared.wire_deliveries import Attempt, DeliveryRecord, encode_attempts


@dataclass(frozen=True)
class Claimed:
    record: DeliveryRecord
    attempts_as_read: str
    """The stored attempts, verbatim: the compare-and-set token of RECORD."""


class DeliveryStore:
    def __init__(self, redis: Redis, retention_s: int) -> None:
        self._redis = redis
        self._retention_s = retention_s
        self._claim = redis.register_script(scripts.CLAIM)
        self._record = redis.register_script(scripts.RECORD)

    async def claim(self, now: float, lease_end: float, limit: int) -> list[str]:
        """Ids of up to ``limit`` due deliveries, now leased to the caller until ``lease_end``."""
        ids = await self._claim(
            keys=[names.DELIVERIES_DUE_KEY], args=[repr(now), repr(lease_end), limit]
        )
        return [str(i) for i in ids]

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
