"""The FastStream broker of the consuming services (aggregator, alerting), built one way.

FastStream builds its own redis-py pool, with redis-py 8.1's defaults: maintenance notifications
"auto", which is truthy, and while they are on the pool lends an idle connection without checking
it. After a Redis restart every connection pooled before it then failed one call ("Connection
closed by server"), each costing the consumer another 5 s reconnect backoff. Pacer speaks RESP2,
where those notifications do not exist: off, as for the plain clients (``connection.connect``).
"""

from __future__ import annotations

import logging
from typing import Any

from faststream.redis import RedisBroker
from faststream.redis.prometheus import RedisPrometheusMiddleware
from prometheus_client import CollectorRegistry
from redis.maint_notifications import MaintNotificationsConfig


def stream_broker(
    url: str, *, registry: CollectorRegistry, logger: logging.Logger, **options: Any
) -> RedisBroker:
    """A broker for ``url`` exporting FastStream's metrics to ``registry``; ``options`` go to
    ``RedisBroker`` (a parser, for instance)."""
    # Not in FastStream's typed parameters: it passes unknown ones to redis-py's pool as they are.
    pool_options: dict[str, Any] = {
        "maint_notifications_config": MaintNotificationsConfig(enabled=False)
    }
    return RedisBroker(
        url,
        middlewares=[RedisPrometheusMiddleware(registry=registry)],
        logger=logger,
        **pool_options,
        **options,
    )
