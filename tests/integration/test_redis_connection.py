"""The services' Redis client gives every connection back and lends none that is dead, and
``/readyz`` says when the pool cannot serve. Each test holds the code to a redis-py 8.1 behaviour
it works around, so it fails if the library changes under it."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio.connection

from shared.health import redis_readiness
from shared.store.connection import connect
from shared.store.state import read_city_states
from tests.support.processes import RedisServer
from tests.support.redis_pools import checked_out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    started = RedisServer(tmp_path_factory.mktemp("redis-connection")).start()
    yield started
    started.stop()


@pytest.fixture
async def client(server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    client = connect(server.url, timeout_s=1.0)
    yield client
    await client.aclose()


async def test_after_a_restart_no_pooled_connection_to_the_old_server_fails_a_call(
    server: RedisServer, client: redis.asyncio.Redis
) -> None:
    await asyncio.gather(*(client.ping() for _ in range(20)))  # 20 idle connections pooled
    server.stop()
    server.start()
    await asyncio.sleep(0.1)  # the closed sockets are seen by the event loop
    answers = await asyncio.gather(*(client.get("x") for _ in range(20)), return_exceptions=True)
    assert [a for a in answers if isinstance(a, Exception)] == []


async def test_a_call_cancelled_while_returning_its_connection_still_returns_it(
    server: RedisServer, client: redis.asyncio.Redis
) -> None:
    await client.ping()
    pool = client.connection_pool
    server.pause(300)
    call = asyncio.create_task(client.get("x"))
    await asyncio.sleep(0.1)  # the call holds its connection and waits for the answer
    assert checked_out(client) == 1
    async with pool._condition:  # the lock a release waits for, as in a contended burst
        await asyncio.sleep(0.5)  # the pause is over: the call waits to give its connection back
        call.cancel()
        await asyncio.sleep(0.01)
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.sleep(0.01)
    assert checked_out(client) == 0


async def test_a_state_read_that_fails_loading_its_script_returns_its_connection(
    server: RedisServer, client: redis.asyncio.Redis
) -> None:
    """redis-py loads a pipeline's scripts inside ``execute()`` but outside its ``try``: an
    unclosed pipeline whose ``SCRIPT EXISTS`` timed out kept its connection for good."""
    await read_city_states(client, ["jinan"])  # the script is cached on the server
    server.pause(1500)  # past the client's 1 s timeout
    with pytest.raises(redis.exceptions.TimeoutError):
        await read_city_states(client, ["jinan"])
    assert checked_out(client) == 0
    await asyncio.sleep(0.6)


async def test_readiness_says_when_the_pool_has_no_connection_to_give(
    client: redis.asyncio.Redis,
) -> None:
    check = redis_readiness(client, shared_for_s=0.001)
    assert await check() == {}
    pool = client.connection_pool
    held = await asyncio.gather(*(pool.get_connection() for _ in range(pool.max_connections)))
    try:
        problems = await check()  # after the pool's 1 s wait for a connection
    finally:
        for connection in held:
            await pool.release(connection)
    assert problems["redis"].startswith("no connection to give: all 100 of the pool's")
    assert await check() == {}


async def test_readiness_says_when_redis_does_not_answer(
    server: RedisServer, client: redis.asyncio.Redis
) -> None:
    check = redis_readiness(client, shared_for_s=0.001)
    assert await check() == {}
    server.pause(1500)  # past the client's 1 s timeout
    assert (await check())["redis"].startswith("TimeoutError")
    await asyncio.sleep(0.6)
    assert await check() == {}
    assert checked_out(client) == 0


async def test_readiness_names_the_error_when_redis_is_down(tmp_path: Path) -> None:
    gone = RedisServer(tmp_path / "gone").start()
    client = connect(gone.url, timeout_s=1.0)
    try:
        gone.stop()
        problems = await redis_readiness(client, shared_for_s=0.001)()
        assert problems["redis"].startswith("ConnectionError")
    finally:
        await client.aclose()


async def test_concurrent_readiness_checks_share_one_ping(
    server: RedisServer, client: redis.asyncio.Redis
) -> None:
    check = redis_readiness(client)
    await client.ping()  # a new connection's first use sends a PING of its own
    with redis.Redis(port=server.port, decode_responses=True) as admin:
        admin.config_resetstat()
        assert await asyncio.gather(*(check() for _ in range(100))) == [{}] * 100
        pings = admin.info("commandstats")["cmdstat_ping"]["calls"]
    assert pings == 1


async def test_an_idle_connection_is_lent_without_the_pools_lock_and_a_waiter_comes_first(
    client: redis.asyncio.Redis,
) -> None:
    """``ReturningPool``'s fast path reads redis-py 8.1's pool internals: this fails if they go."""
    pool = client.connection_pool
    await client.ping()
    assert len(pool._available_connections) == 1 and not pool._condition._waiters
    async with pool._condition:  # held: the fast path steps aside and queues behind it
        waiting = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.05)
        assert not waiting.done()
    lent = await waiting
    assert checked_out(client) == 1
    await pool.release(lent)
    held = await asyncio.gather(*(pool.get_connection() for _ in range(pool.max_connections)))
    first = asyncio.create_task(pool.get_connection())  # waits: every connection is lent
    await asyncio.sleep(0.05)
    assert pool._condition._waiters
    await pool.release(held[0])  # a waiter is queued: the slow path hands it over
    later = asyncio.create_task(pool.get_connection())
    assert await first is held[0]
    await asyncio.sleep(0.05)
    assert not later.done()  # no idle connection for a newcomer to take before the waiter
    for connection in [held[0], *held[1:]]:
        await pool.release(connection)
    await pool.release(await later)
    assert checked_out(client) == 0


async def test_commands_packed_in_c_reach_redis_exactly_as_redis_py_packs_them(
    server: RedisServer, client: redis.asyncio.Redis
) -> None:
    """The client packs with hiredis (redis-py's asyncio packer is pure Python): every kind of
    argument a store call sends arrives as the bytes redis-py's own packer sends, in a call of
    20,000 arguments as in a pipeline, and what redis-py refuses is refused before it is sent."""
    assert type(client.connection_pool.make_connection()).__name__.startswith("Lean")
    values: list[str | int | float | bytes | bytearray | memoryview] = ["历下区", "a\tb", ""]
    values += [b"\x00\xff", bytearray(b"\x01"), memoryview(b"\x02\x03"), 0, -7, 10**20]
    values += [36.651, 0.1 + 0.2, 1e-7, 1e22, *(f"JN-{n:07d}" for n in range(20_000))]
    keep = "for i, v in ipairs(ARGV) do redis.call('HSET', KEYS[1], i, v) end"
    plain = redis.asyncio.Redis(port=server.port)  # redis-py's own (Python) packer
    try:
        await client.eval(keep, 1, "packed:c", *values)
        await plain.eval(keep, 1, "packed:python", *values)
        async with client.pipeline(transaction=False) as pipe:
            pipe.hset("packed:pipeline", mapping={str(i): v for i, v in enumerate(values, 1)})
            await pipe.execute()
        stored = [await plain.hgetall(k) for k in ("packed:c", "packed:pipeline")]
        assert stored == [await plain.hgetall("packed:python")] * 2
        assert len(stored[0]) == len(values)
    finally:
        await plain.aclose()
    with pytest.raises(redis.DataError):
        await client.set("packed:refused", True)  # type: ignore[arg-type]
    assert await client.exists("packed:refused") == 0
    assert "maxmemory" in await client.config_get("maxmemory")  # "CONFIG GET": two words


async def test_a_command_redis_does_not_take_fails_within_the_timeout(
    server: RedisServer, client: redis.asyncio.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands are handed to the socket without redis-py's task per write: a small one goes at
    once, and what the socket does not take (here 8 MB to a stopped Redis) is still waited for
    within the timeout, and the connection dropped rather than lent again with half a command in
    it. (As with redis-py's own path, the transport still flushes what it had taken once Redis
    reads again, so the command may yet run: Pacer's writes are idempotent for that reason.)"""
    waits: list[float] = []
    wait_for = asyncio.wait_for

    def counted(awaitable: Any, timeout: float | None) -> Any:
        waits.append(timeout or 0)
        return wait_for(awaitable, timeout)

    monkeypatch.setattr(redis.asyncio.connection.asyncio, "wait_for", counted)
    await asyncio.gather(*(client.set(f"small:{n}", "1") for n in range(100)))
    assert waits == []  # no task per write
    big = "x" * (8 << 20)
    server.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(redis.exceptions.TimeoutError):
            await client.set("big", big)
        assert time.monotonic() - started < 2.5  # the write's timeout (1 s), then the drop
        assert waits == [1.0]  # the rest of the write, waited for by redis-py's path
    finally:
        server.process.send_signal(signal.SIGCONT)
    assert checked_out(client) == 0
    assert await client.set("after", "2") is True  # a fresh connection, not the half-sent one
    assert await client.get("after") == "2"


_ECHO = "return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1}"
_FAILS = "return redis.error_reply('refused: ' .. ARGV[1])"
_SPINS = "local n = 0 for i = 1, tonumber(ARGV[1]) do n = n + 1 end return ARGV[2]"


async def test_commands_skip_redis_pys_per_call_machinery_and_answer_as_through_it(
    server: RedisServer, client: redis.asyncio.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command of a ``connect`` client is sent without redis-py's retry wrapper and recorders
    (they run on every ``execute_command`` and record each call's duration): the same answers,
    response callbacks included, and a script redis does not hold is loaded and run."""
    recorded: list[str] = []
    record = redis.asyncio.client.record_operation_duration

    async def counted(**kwargs: Any) -> None:
        recorded.append(kwargs["command_name"])
        await record(**kwargs)

    monkeypatch.setattr(redis.asyncio.client, "record_operation_duration", counted)
    plain = redis.asyncio.Redis(port=server.port, decode_responses=True)
    try:
        await plain.hset("lean:h", mapping={"a": "1", "b": "2"})
        assert recorded == ["HSET"]  # redis-py's path records every call
        assert (
            await client.hgetall("lean:h") == await plain.hgetall("lean:h") == {"a": "1", "b": "2"}
        )
        assert await client.exists("lean:h", "lean:none") == 1
        echo = client.register_script(_ECHO)
        with redis.Redis(port=server.port) as admin:
            admin.script_flush()  # the EVALSHA meets NOSCRIPT: the script is loaded, run
        assert await echo(["k"], ["v", 41]) == ["k", "v", 42]
        assert await echo(["k"], ["v", 41]) == await plain.eval(_ECHO, 1, "k", "v", 41)
    finally:
        await plain.aclose()
    assert recorded == ["HSET", "HGETALL", "EVAL"]  # the plain client's calls, none of ours
    assert checked_out(client) == 0
    refusing = client.register_script(_FAILS)
    with pytest.raises(redis.exceptions.ResponseError, match="refused: no"):
        await refusing([], ["no"])
    assert checked_out(client) == 0
    assert await echo(["after"], ["an error", 0]) == ["after", "an error", 1]


async def test_a_command_cancelled_mid_call_leaves_no_answer_for_the_next_caller(
    client: redis.asyncio.Redis,
) -> None:
    """A call cancelled (a request's deadline) while Redis still runs it must not leave its
    answer on a pooled connection, to be read as the next caller's."""
    spins = client.register_script(_SPINS)
    await spins([], [1, "warm"])  # loaded: the next call is one EVALSHA
    slow = asyncio.create_task(spins([], [30_000_000, "late answer"]))
    await asyncio.sleep(0.05)  # sent: Redis is running it
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert checked_out(client) == 0
    answers = await asyncio.gather(*(spins([], [1, n]) for n in range(5)))
    assert answers == [str(n) for n in range(5)]


async def test_a_command_with_redis_down_fails_and_returns_its_connection(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path / "redis").start()
    client = connect(server.url, timeout_s=1.0)
    try:
        echo = client.register_script(_ECHO)
        assert await echo(["k"], ["v", 1]) == ["k", "v", 2]
        server.stop()
        with pytest.raises(redis.exceptions.ConnectionError):
            await echo(["k"], ["v", 1])
        assert checked_out(client) == 0
        server.start()
        assert await echo(["k"], ["v", 2]) == ["k", "v", 3]
    finally:
        await client.aclose()
        server.stop()
