"""Keeping FastStream stream consumers alive across a Redis that lost its consumer groups."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import AckPolicy
from faststream.redis import RedisBroker, StreamSub

from shared.store.client import StoreClient
from shared.store.groups import ensure_groups

log = logging.getLogger("pacer.consumers")


async def restart_stopped_subscribers(broker: RedisBroker, redis: StoreClient) -> int:
    """FastStream stops a subscriber for good when its group vanishes (Redis wiped or restarted
    empty). Recreate the groups at id 0 *first* (a restarted subscriber would create them at "$"
    and skip whatever was written meanwhile), then start the subscriber again."""
    stopped: list[Any] = [s for s in broker.subscribers if not getattr(s, "running", True)]
    if not stopped:
        return 0
    await ensure_groups(redis)
    for subscriber in stopped:
        log.warning("restarting a stopped stream subscriber")
        await subscriber.start()
    return len(stopped)


def subscribe_with_reclaimer(
    broker: RedisBroker,
    *,
    stream: str,
    group: str,
    consumer: str,
    handler: Callable[..., Awaitable[None]],
    reclaim_idle_ms: int,
    ack_policy: AckPolicy = AckPolicy.REJECT_ON_ERROR,
    max_workers: int = 1,
) -> None:
    """Two subscribers on one handler and group: the main one reads new entries; the reclaimer
    (XAUTOCLAIM) takes over entries left pending by a crashed consumer or a failed attempt once
    they have been idle for ``reclaim_idle_ms`` (which must exceed the slowest handler run).
    ``max_workers`` handler runs at a time on the main subscriber, for a handler that lets
    concurrent runs share work."""
    broker.subscriber(
        stream=StreamSub(stream, group=group, consumer=consumer),
        ack_policy=ack_policy,
        max_workers=max_workers,
    )(handler)
    broker.subscriber(
        stream=StreamSub(
            stream, group=group, consumer=f"{consumer}-reclaim", min_idle_time=reclaim_idle_ms
        ),
        ack_policy=ack_policy,
        include_in_schema=False,
    )(handler)
