"""A batched script (the ingest's accept call) answers each caller as the script alone would:
its own answer or its own error, whatever the others in its batch do, and through a cancelled
caller, a flushed script cache and a Redis that stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from shared.store.batched_script import BatchedScript
from shared.store.connection import connect
from tests.support.processes import RedisServer

# Counts its calls and answers ARGV[1]; ARGV[2] == "fail" answers an error instead.
ECHO = """
redis.call('INCR', KEYS[1])
if ARGV[2] == 'fail' then return redis.error_reply('ERR refused ' .. ARGV[1]) end
return ARGV[1]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    started = RedisServer(tmp_path_factory.mktemp("batched-script")).start()
    yield started
    started.stop()


@pytest.fixture
async def client(server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    client = connect(server.url, timeout_s=1.0)
    await client.flushall()
    yield client
    await client.aclose()


def echo(client: redis.asyncio.Redis) -> BatchedScript:
    return BatchedScript(client, client.register_script(ECHO))


def opened(client: redis.asyncio.Redis) -> int:
    pool = client.connection_pool
    connections = [*pool._available_connections, *pool._in_use_connections]
    return sum(1 for connection in connections if connection.is_connected)


def checked_out(client: redis.asyncio.Redis) -> int:
    return len(client.connection_pool._in_use_connections)


async def test_calls_made_together_share_one_connection_and_each_gets_its_own_answer(
    client: redis.asyncio.Redis,
) -> None:
    script = echo(client)
    assert await script(["calls"], ["warm", "ok"]) == "warm"  # loads the script
    answers = await asyncio.gather(*(script(["calls"], [f"r{i}", "ok"]) for i in range(50)))
    assert answers == [f"r{i}" for i in range(50)]
    assert await client.get("calls") == "51"  # each ran once
    assert opened(client) == 1  # one by one, each would have borrowed a connection of its own
    assert checked_out(client) == 0


async def test_one_calls_error_is_its_own(client: redis.asyncio.Redis) -> None:
    script = echo(client)
    answers = await asyncio.gather(
        *(script(["calls"], [f"r{i}", "fail" if i == 3 else "ok"]) for i in range(6)),
        return_exceptions=True,
    )
    refused = answers.pop(3)
    assert isinstance(refused, ResponseError) and "refused r3" in str(refused)
    assert answers == ["r0", "r1", "r2", "r4", "r5"]
    assert await script(["calls"], ["after", "ok"]) == "after"


async def test_a_redis_without_the_script_gets_it_loaded(client: redis.asyncio.Redis) -> None:
    script = echo(client)
    assert await script(["calls"], ["first", "ok"]) == "first"
    await client.script_flush()  # as after a restart without persistence
    answers = await asyncio.gather(*(script(["calls"], [f"r{i}", "ok"]) for i in range(5)))
    assert answers == [f"r{i}" for i in range(5)]
    assert await client.get("calls") == "6"  # a NOSCRIPT answer ran nothing: none ran twice


async def test_a_cancelled_caller_leaves_the_others_their_answers_and_nothing_stale(
    server: RedisServer, client: redis.asyncio.Redis
) -> None:
    script = echo(client)
    await script(["calls"], ["warm", "ok"])
    with redis.Redis(port=server.port) as admin:
        admin.execute_command("CLIENT", "PAUSE", "300")
    calls = [asyncio.create_task(script(["calls"], [f"r{i}", "ok"])) for i in range(5)]
    await asyncio.sleep(0.1)  # the batch is out and waits for its answers
    calls[2].cancel()
    answers = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(answers.pop(2), asyncio.CancelledError)
    assert answers == ["r0", "r1", "r3", "r4"]
    assert await script(["calls"], ["next", "ok"]) == "next"  # not the cancelled call's answer
    assert checked_out(client) == 0


async def test_with_redis_down_every_call_of_the_batch_fails_and_the_connection_comes_back(
    server: RedisServer, client: redis.asyncio.Redis
) -> None:
    script = echo(client)
    await script(["calls"], ["warm", "ok"])
    server.stop()
    try:
        answers = await asyncio.gather(
            *(script(["calls"], [f"r{i}", "ok"]) for i in range(5)), return_exceptions=True
        )
        assert all(isinstance(answer, RedisConnectionError) for answer in answers), answers
        assert checked_out(client) == 0
    finally:
        server.start()
    assert await script(["calls"], ["back", "ok"]) == "back"


async def test_redis_stopping_mid_batch_fails_the_calls_without_an_answer(
    server: RedisServer, client: redis.asyncio.Redis
) -> None:
    script = echo(client)
    await script(["calls"], ["warm", "ok"])
    with redis.Redis(port=server.port) as admin:
        admin.execute_command("CLIENT", "PAUSE", "1500")  # past the client's 1 s timeout
    answers = await asyncio.gather(
        *(script(["calls"], [f"r{i}", "ok"]) for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(answer, redis.exceptions.RedisError) for answer in answers), answers
    assert checked_out(client) == 0
    await asyncio.sleep(0.6)  # the pause is over
    assert await script(["calls"], ["after", "ok"]) == "after"  # not a stale answer


async def test_an_argument_redis_cannot_take_fails_only_its_own_call(
    client: redis.asyncio.Redis,
) -> None:
    script = echo(client)
    await script(["calls"], ["warm", "ok"])
    answers = await asyncio.gather(
        script(["calls"], ["r0", "ok"]),
        script(["calls"], [{"not": "packable"}, "ok"]),
        script(["calls"], ["r2", "ok"]),
        return_exceptions=True,
    )
    assert answers[0] == "r0" and answers[2] == "r2"
    assert isinstance(answers[1], redis.exceptions.DataError)
    assert await client.get("calls") == "3"  # the refused call never reached Redis
