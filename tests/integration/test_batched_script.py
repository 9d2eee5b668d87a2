"""A batched script (the ingest's accept call) answers each caller as the script alone would:
its own answer or its own error, whatever the others in its batch do, and through a cancelled
caller, a flushed script cache and a Redis that stops or stalls. The module's redis-server is
its own (``redis_server``, module-scoped): these tests stop and pause it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
import redis
import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from shared.domain.state import ReportKind
from shared.store.batched_script import BatchedScript
from shared.store.connection import connect
from shared.store.reports import ReportStore
from shared.wire import GigabitReport, ReportEnvelope, encode_submission
from tests.support.processes import RedisServer
from tests.support.redis_pools import checked_out, opened

# Counts its calls and answers ARGV[1]; ARGV[2] == "fail" answers an error instead.
ECHO = """
redis.call('INCR', KEYS[1])
if ARGV[2] == 'fail' then return redis.error_reply('ERR refused ' .. ARGV[1]) end
return ARGV[1]
"""


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    client = connect(redis_server.url, timeout_s=1.0)
    await client.flushall()
    yield client
    await client.aclose()


def echo(client: redis.asyncio.Redis) -> BatchedScript:
    return BatchedScript(client, client.register_script(ECHO))


async def five_calls(script: BatchedScript) -> list[object]:
    """Five calls made together, each answer or error in its place."""
    calls = (script(["calls"], [f"r{i}", "ok"]) for i in range(5))
    return await asyncio.gather(*calls, return_exceptions=True)


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
    assert await five_calls(script) == [f"r{i}" for i in range(5)]
    assert await client.get("calls") == "6"  # a NOSCRIPT answer ran nothing: none ran twice


async def test_a_cancelled_caller_leaves_the_others_their_answers_and_nothing_stale(
    redis_server: RedisServer, client: redis.asyncio.Redis
) -> None:
    script = echo(client)
    await script(["calls"], ["warm", "ok"])
    redis_server.pause(300)
    calls = [asyncio.create_task(script(["calls"], [f"r{i}", "ok"])) for i in range(5)]
    await asyncio.sleep(0.1)  # the batch is out and waits for its answers
    calls[2].cancel()
    answers = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(answers.pop(2), asyncio.CancelledError)
    assert answers == ["r0", "r1", "r3", "r4"]
    assert await script(["calls"], ["next", "ok"]) == "next"  # not the cancelled call's answer
    assert checked_out(client) == 0


async def test_with_redis_down_every_call_of_the_batch_fails_and_the_connection_comes_back(
    redis_server: RedisServer, client: redis.asyncio.Redis
) -> None:
    script = echo(client)
    await script(["calls"], ["warm", "ok"])
    redis_server.stop()
    try:
        answers = await five_calls(script)
        assert all(isinstance(answer, RedisConnectionError) for answer in answers), answers
        assert checked_out(client) == 0
    finally:
        redis_server.start()
    assert await script(["calls"], ["back", "ok"]) == "back"


async def test_redis_not_answering_within_the_timeout_fails_the_batch_and_leaves_nothing_stale(
    redis_server: RedisServer, client: redis.asyncio.Redis
) -> None:
    script = echo(client)
    await script(["calls"], ["warm", "ok"])
    redis_server.pause(1500)  # past the client's 1 s timeout
    answers = await five_calls(script)
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


async def test_the_ingests_accept_calls_made_together_share_one_connection(
    client: redis.asyncio.Redis,
) -> None:
    """``ReportStore`` sends its accept calls through a ``BatchedScript``: without it, 20 reports
    accepted at once would borrow 20 connections."""
    store = ReportStore(client)
    received = datetime(2024, 7, 15, 4, tzinfo=UTC)

    async def accept(number: int) -> str:
        report = GigabitReport(
            report_id=f"g-{number}",
            period="2024-06",
            as_of=date(2024, 6, 30),
            indicators={"bs_5g_per_10k": 20.0},
        )
        payload, fingerprint = encode_submission("jinan", ReportKind.GIGABIT, report)
        envelope = ReportEnvelope(f"g-{number}", "jinan", ReportKind.GIGABIT, received, payload)
        return (await store.accept(envelope, fingerprint)).result

    assert await accept(0) == "accepted"  # loads the script
    assert await asyncio.gather(*(accept(n) for n in range(1, 21))) == ["accepted"] * 20
    assert opened(client) == 1
    assert await accept(1) == "duplicate"  # each was stored, under its own id
