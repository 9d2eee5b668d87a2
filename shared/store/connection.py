"""Redis clients with bounded timeouts: a dead Redis makes a call fail fast, never hang."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def connect(url: str, *, timeout_s: float = 1.5) -> Redis:
    """A client for ``url`` (redis:// or unix://) that answers or fails within ~``timeout_s``.

    No automatic retry: the caller decides (the ingest answers 503 and the client retries with
    the same report id; a consumer's entry stays pending and is reclaimed).
    """
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=10,
    )
