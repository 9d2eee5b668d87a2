"""The FastStream broker of the consuming services (aggregator, alerting), built one way.

FastStream builds its own redis-py pool, with redis-py 8.1's defaults: maintenance notifications
"auto", which is truthy, and while they are on the pool lends an idle connection without checking
it. After a Redis restart every connection pooled before it then failed one call ("Connection
closed by server"), each costing the consumer another 5 s reconnect backoff. Pacer speaks RESP2,
where those notifications do not exist: off, as for the plain clients (``connection.connect``).

Behind Redis Sentinels (a ``redis+sentinel://`` URL) the broker is FastStream's
``RedisSentinelBroker``, whose client comes from redis-py's ``Sentinel.master_for``: every
connection it opens goes to the primary the sentinels name, so the stream readers and publishers
follow a failover by themselves (a reader that lost its connection reconnects after FastStream's
5 s backoff).
"""

from __future__ import annotations

import logging
from typing import Any

from faststream.redis import RedisBroker, RedisSentinelBroker
from faststream.redis.prometheus import RedisPrometheusMiddleware
from prometheus_client import CollectorRegistry
from redis.maint_notifications import MaintNotificationsConfig

from shared.store.connection import sentinel_options
from shared.store.redis_url import parse_sentinel_url

SENTINEL_SOCKET_TIMEOUT_S = 10.0
"""The Sentinel broker's socket timeout. FastStream's readers block 100 ms per XREADGROUP, so
this never cuts a healthy read; it bounds the wait on a primary whose host died without closing
its connections (no RST): without it a reader would wait on a dead socket until TCP gives up,
minutes, instead of reconnecting to the new primary."""
SENTINEL_CONNECT_TIMEOUT_S = 2.0
"""Connecting to a dead host is retried after FastStream's 5 s backoff anyway."""
STREAM_LINE_LEVEL = logging.DEBUG
"""FastStream's "Received" and "Processed" lines, two per stream entry: not written at INFO."""
DISCOVERY_TIMEOUT_S = 3.0
"""Asking the sentinels for the primary: a second each (``connection.sentinel_options``)."""


def stream_broker(
    url: str, *, registry: CollectorRegistry, logger: logging.Logger, **options: Any
) -> RedisBroker:
    """A broker for ``url`` exporting FastStream's metrics to ``registry``; ``options`` go to
    ``RedisBroker`` (a parser, for instance)."""
    # Not in FastStream's typed parameters: it passes unknown ones to redis-py's pool as they are.
    pool_options: dict[str, Any] = {
        "maint_notifications_config": MaintNotificationsConfig(enabled=False)
    }
    middlewares = [RedisPrometheusMiddleware(registry=registry)]
    sentinel = parse_sentinel_url(url)
    if sentinel is None:
        return RedisBroker(
            url,
            middlewares=middlewares,
            logger=logger,
            log_level=STREAM_LINE_LEVEL,
            **pool_options,
            **options,
        )
    return RedisSentinelBroker(
        sentinel.server_url(),
        sentinels=list(sentinel.sentinels),
        sentinel_master_name=sentinel.service_name,
        sentinel_kwargs=sentinel_options(DISCOVERY_TIMEOUT_S),
        socket_timeout=SENTINEL_SOCKET_TIMEOUT_S,
        socket_connect_timeout=SENTINEL_CONNECT_TIMEOUT_S,
        middlewares=middlewares,
        logger=logger,
        log_level=STREAM_LINE_LEVEL,
        **pool_options,
        **options,
    )
