"""Redis clients with bounded timeouts: a dead Redis makes a call fail fast, never hang."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

MAX_CONNECTIONS = 100
"""Per client. Past it a call waits (up to the timeout) for a connection to come free rather
than fail at once: a burst of more concurrent requests than connections queues instead of being
answered 503."""


def connect(url: str, *, timeout_s: float = 1.5) -> Redis:
    """A client for ``url`` (redis:// or unix://) that answers or fails within ~``timeout_s``
    (~twice that when every connection is busy: the wait for one, then the call).

    No automatic retry: the caller decides (the ingest answers 503 and the client retries with
    the same report id; a consumer's entry stays pending and is reclaimed).
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout_s,
        decode_responses=True,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=10,
    )
    client = Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # aclose() closes the pool, as from_url's would
    return client
