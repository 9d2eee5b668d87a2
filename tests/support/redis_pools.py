"""What a Redis client's connection pool holds: the tests of its connections count them."""

from __future__ import annotations

import redis.asyncio


def checked_out(client: redis.asyncio.Redis) -> int:
    """Connections lent and not given back."""
    return len(client.connection_pool._in_use_connections)


def opened(client: redis.asyncio.Redis) -> int:
    """Connections the pool holds with a socket open, lent or not."""
    pool = client.connection_pool
    connections = [*pool._available_connections, *pool._in_use_connections]
    return sum(1 for connection in connections if connection.is_connected)
