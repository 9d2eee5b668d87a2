"""Reads the active alerts the alerting service keeps in Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from shared import names
from shared.domain.alert_lifecycle import ActiveAlert
from shared.wire_alerts import decode_active


async def read_active_alerts(redis: Redis) -> dict[str, ActiveAlert]:
    """Fingerprint -> active alert (firing, or in its resolve hold)."""
    raw = await redis.hgetall(names.ACTIVE_ALERTS_KEY)
    return {str(fp): decode_active(str(doc)) for fp, doc in raw.items()}
