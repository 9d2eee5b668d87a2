"""Fixtures of the integration tier beyond the shared ones in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis
from redis.asyncio import Redis

from shared.store.connection import connect
from shared.store.groups import ensure_groups
from tests.support.processes import RedisServer


@pytest.fixture
async def store(redis_server: RedisServer, redis_client: redis.Redis) -> AsyncIterator[Redis]:
    """An async client on an emptied database whose consumer groups exist."""
    client = connect(redis_server.url)
    await ensure_groups(client)
    yield client
    await client.aclose()
