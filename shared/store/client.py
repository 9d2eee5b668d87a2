"""What a service may know of the store's client without importing redis itself.

Only ``shared.store`` imports redis (an import-linter contract in ``make lint``). A service holds
a ``StoreClient`` (made by ``shared.store.connection.connect``) and hands it to the store's
families; it names the store's failures by these aliases, never by redis-py's classes, so the
client library is replaced in this package alone.
"""

from __future__ import annotations

from redis.asyncio import Redis as StoreClient
from redis.exceptions import ConnectionError as StoreConnectionError
from redis.exceptions import RedisError as StoreError
from redis.exceptions import TimeoutError as StoreTimeoutError
from redis.exceptions import WatchError as StoreWatchError

StoreUnavailable: tuple[type[StoreError], ...] = (StoreConnectionError, StoreTimeoutError)
"""The store did not answer (down, restarting, paused, out of connections): retry later."""

__all__ = [
    "StoreClient",
    "StoreConnectionError",
    "StoreError",
    "StoreTimeoutError",
    "StoreUnavailable",
    "StoreWatchError",
]
