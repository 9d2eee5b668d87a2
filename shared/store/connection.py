"""Redis clients with bounded timeouts: a dead Redis makes a call fail fast, never hang, and a
failed or cancelled call gives its pool connection back."""

from __future__ import annotations

import asyncio
import contextlib

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry

MAX_CONNECTIONS = 100
"""Per client. Past it a call waits (up to the timeout) for a connection to come free rather
than fail at once: a burst of more concurrent requests than connections queues instead of being
answered 503."""


class ReturningPool(BlockingConnectionPool):
    """A blocking pool whose connections come back even from a cancelled call.

    redis-py 8.1 returns a command's connection in a ``finally`` with an unshielded
    ``await pool.release(conn)``, which first waits for the pool's lock. A request cancelled
    right then (its deadline passed while a burst contended for the lock) abandoned the release,
    and the connection stayed checked out for good: a few hundred of those and the pool has
    nothing to give. Pipelines shield their release; this does the same for single commands,
    and only on the cancelled path, so an ordinary release costs nothing more."""

    async def release(self, connection: AbstractConnection) -> None:
        try:
            await super().release(connection)
        except asyncio.CancelledError:
            # KeyError: the cancel came after the connection was already handed back.
            with contextlib.suppress(KeyError):
                await asyncio.shield(super().release(connection))
            raise


def connect(url: str, *, timeout_s: float = 1.5) -> Redis:
    """A client for ``url`` (redis:// or unix://) that answers or fails within ~``timeout_s``
    (~twice that when every connection is busy: the wait for one, then the call).

    No automatic retry: the caller decides (the ingest answers 503 and the client retries with
    the same report id; a consumer's entry stays pending and is reclaimed).
    """
    pool = ReturningPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout_s,
        decode_responses=True,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=10,
        # redis-py 8.1 defaults this to "auto", which is truthy, and while it is on the pool
        # skips its check of an idle connection before lending it: after a Redis restart every
        # pooled connection to the old server then failed one call each (a 503 apiece, up to
        # 100 per service, spread over later bursts). Off, a closed connection is reconnected
        # before use. Pacer speaks RESP2, where these notifications do not exist anyway.
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
    )
    client = Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # aclose() closes the pool, as from_url's would
    return client
