"""Consumer groups exist before any producer writes, created at id 0 so nothing is skipped."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from shared.names import STREAM_GROUPS


async def ensure_groups(redis: Redis) -> None:
    """Create every stream and consumer group Pacer uses; existing ones are left as they are."""
    for stream, groups in STREAM_GROUPS.items():
        for group in groups:
            try:
                await redis.xgroup_create(stream, group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
