"""Redis clients with bounded timeouts: a dead Redis makes a call fail fast, never hang, and a
failed or cancelled call gives its pool connection back. Behind Redis Sentinels
(``redis+sentinel://``, ``redis_url``) the client follows the current primary."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

import hiredis
from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import NoBackoff
from redis.connection import HiredisRespSerializer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry

from shared.store.redis_url import SentinelUrl, parse_sentinel_url

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

    async def get_connection(
        self, command_name: str | None = None, *keys: Any, **options: Any
    ) -> AbstractConnection:
        """An idle connection straight from the pool when one is there and nobody waits.

        redis-py 8.1 takes every connection through the pool's condition, a timer for its wait,
        a context manager for its maintenance lock and its observability recorders, and gives it
        back the same way: ~8 % of a report's CPU in the ingest (bench/NOTES-ingest-latency.md).
        The liveness check stays. The blocking path stays for a pool with no idle connection,
        with tasks already waiting or the pool's lock held (first come, first served; a release
        contending for the lock is still shielded from cancellation below), in maintenance, or
        with a credential provider (whose listeners hear of every release)."""
        if not self._fast_path() or not self._available_connections:
            return await super().get_connection()  # type: ignore[no-untyped-call,no-any-return]
        connection: AbstractConnection = self._available_connections.pop()
        self._in_use_connections.add(connection)
        try:
            await self.ensure_connection(connection)  # dead or unread: reconnected, as upstream
        except BaseException:
            await self.release(connection)
            raise
        return connection

    def _fast_path(self) -> bool:
        return (
            not self._in_maintenance
            and not self._condition.locked()  # the slow path is at work: queue behind it
            and not self._condition._waiters
            and self.connection_kwargs.get("credential_provider") is None
        )

    async def release(self, connection: AbstractConnection) -> None:
        if self._fast_path() and not connection.should_reconnect():  # type: ignore[no-untyped-call]
            # no await between taking it out of use and making it available: nothing to cancel
            self._in_use_connections.remove(connection)
            self._available_connections.append(connection)
            return
        try:
            await super().release(connection)
        except asyncio.CancelledError:
            # KeyError: the cancel came after the connection was already handed back.
            with contextlib.suppress(KeyError):
                await asyncio.shield(super().release(connection))
            raise


class SentinelReturningPool(SentinelConnectionPool, ReturningPool):
    """``ReturningPool`` whose connections go to the primary the sentinels name.

    redis-py's ``SentinelConnectionPool`` asks the sentinels for the primary's address each time
    it opens a connection, drops its idle connections when that address changes, and turns a
    ``READONLY`` answer (a demoted primary still running) into a ``ConnectionError``. With the
    idle-connection check on (maintenance notifications off, below), a connection to a dead
    primary is reopened before use: until the sentinels name the new primary (their
    ``down-after-milliseconds`` plus an election) calls fail fast, refused by the dead address,
    and from then on every connection goes to the new primary, with no restart. The blocking and
    returning behaviour is ``ReturningPool``'s (the MRO puts the address lookup in front)."""

    async def aclose(self) -> None:
        await super().aclose()
        # The clients of the sentinels themselves belong to this pool's one manager.
        await self.sentinel_manager.aclose()


class _CPackedCommands:
    """A connection that packs its commands with hiredis's C packer.

    redis-py 8.1's asyncio connections pack every argument in Python (its sync ones use
    hiredis): the 20,000 arguments of a 10,000-site accept or apply call cost ~22 ms of Python
    against ~2.7 ms. ``HiredisRespSerializer`` is redis-py's own sync packer: the same bytes for
    every str (UTF-8), bytes, int and float, and the same ``DataError`` for anything else."""

    _packer = HiredisRespSerializer()

    def pack_command(self, *args: Any) -> list[bytes]:
        command = args[0]
        if type(command) is str and " " not in command:
            # hiredis itself, past the serializer's Python pass over every argument (4-8 us of
            # the 7-11 for the accept call's 20): the same bytes for a one-word command of str,
            # int, float, bytes and memoryview arguments. Anything else it refuses, and the
            # serializer then converts (a bytearray) or refuses it (DataError) as always.
            try:
                return [hiredis.pack_command(args)]
            except TypeError:
                pass
        packed: list[bytes] = self._packer.pack(*args)
        return packed


class _DirectWrites(AbstractConnection):
    """A connection that hands a command to its socket without a task per write.

    With a ``socket_timeout`` redis-py 8.1 sends every command through ``asyncio.wait_for``,
    which on Python 3.11 wraps the write in a new task and runs it on a later turn of the event
    loop: two extra loop turns before the command even leaves, and 7-10 us of client CPU per
    command (an XADD at 64 in flight: 73-98 us against 83-105; ~1 % of a report's CPU in the
    ingest, more for services that send many small commands). Yet a write to an idle transport
    goes straight to the socket and never blocks. So: when nothing is queued in front of it, the
    command is written at once; only what the socket did not take (a large command, a slow
    Redis) is then waited for, by redis-py's own path with its timeout and its errors. A closing
    transport, a command redis-py would convert, or no timeout at all: redis-py's path,
    unchanged."""

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        checked = check_health and self.is_connected
        if checked:
            await self.check_health()  # type: ignore[no-untyped-call]
        writer = self._writer
        if (
            writer is None
            or not self.socket_timeout
            or not isinstance(command, list)
            or writer.transport.is_closing()
            or writer.transport.get_write_buffer_size()
        ):
            await super().send_packed_command(command, check_health=check_health and not checked)
            return
        writer.writelines(command)
        if writer.transport.get_write_buffer_size():
            # The rest drains within the socket timeout, or the connection is dropped with
            # redis-py's TimeoutError; the empty command writes nothing more.
            await super().send_packed_command([], check_health=False)


class _LeanRedis(Redis):
    """A client whose commands skip redis-py's per-call machinery, which it has no use for.

    ``Redis.execute_command`` wraps every command in a retry callable and a failure callback
    built per call, and reports it to two observability recorders: for the ingest's accept call
    ~20 us of ~450 of in-process CPU per report (bench/NOTES-ingest-latency.md). A client from
    ``connect`` retries nothing (``_client_options``; no retry policy is consulted here) and
    records nothing, so here a command borrows a connection, is sent and its answer parsed by
    redis-py's own ``_send_command_parse_response`` (response callbacks and options as before),
    and gives the connection back, as ``execute_command`` does. The connection drops its socket
    on any error or cancellation mid-command (``send_packed_command``, ``read_response``), so
    half an answer never reaches the next caller; a connection or timeout error also disconnects
    it here, as redis-py's failure callback does. A single-connection client: redis-py's path."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if self.single_connection_client:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        pool = self.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            return await self._send_command_parse_response(  # type: ignore[no-untyped-call]
                connection, args[0], *args, **options
            )
        except (RedisConnectionError, RedisTimeoutError):
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)


def _lean(pool: ConnectionPool) -> None:
    """Makes the connections ``pool`` opens from now on ``_CPackedCommands`` and
    ``_DirectWrites``."""
    base = pool.connection_class
    lean = (_CPackedCommands, _DirectWrites, base)
    pool.connection_class = type(f"Lean{base.__name__}", lean, {})


def connect(url: str, *, timeout_s: float = 1.5) -> Redis:
    """A client for ``url`` (redis://, unix://, or redis+sentinel://) that answers or fails
    within ~``timeout_s`` (~twice that when every connection is busy: the wait for one, then the
    call).

    No automatic retry: the caller decides (the ingest answers 503 and the client retries with
    the same report id; a consumer's entry stays pending and is reclaimed).
    """
    options = _client_options(timeout_s)
    sentinel = parse_sentinel_url(url)
    if sentinel is not None:
        client = _sentinel_client(sentinel, options, timeout_s)
    else:
        client = _LeanRedis(connection_pool=ReturningPool.from_url(url, **options))
    _lean(client.connection_pool)  # before its first connection
    client.auto_close_connection_pool = True  # aclose() closes the pool, as from_url's would
    return client


def _client_options(timeout_s: float) -> dict[str, Any]:
    return {
        "max_connections": MAX_CONNECTIONS,
        "timeout": timeout_s,
        "decode_responses": True,
        "socket_connect_timeout": timeout_s,
        "socket_timeout": timeout_s,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 10,
        # redis-py 8.1 defaults this to "auto", which is truthy, and while it is on the pool
        # skips its check of an idle connection before lending it: after a Redis restart every
        # pooled connection to the old server then failed one call each (a 503 apiece, up to
        # 100 per service, spread over later bursts). Off, a closed connection is reconnected
        # before use. Pacer speaks RESP2, where these notifications do not exist anyway.
        "maint_notifications_config": MaintNotificationsConfig(enabled=False),
    }


def sentinel_options(timeout_s: float) -> dict[str, Any]:
    """How the sentinels themselves are asked. Discovery asks them in turn, so each gets a third
    of the call's timeout: with all three gone a call still fails within its budget, and one
    that answers is asked first from then on."""
    each = timeout_s / 3
    return {
        "socket_connect_timeout": each,
        "socket_timeout": each,
        "retry": Retry(NoBackoff(), 0),
        "maint_notifications_config": MaintNotificationsConfig(enabled=False),
    }


def _sentinel_client(url: SentinelUrl, options: dict[str, Any], timeout_s: float) -> Redis:
    manager = Sentinel(  # type: ignore[no-untyped-call]
        list(url.sentinels), sentinel_kwargs=sentinel_options(timeout_s)
    )
    client: Redis = manager.master_for(
        url.service_name,
        redis_class=_LeanRedis,
        connection_pool_class=SentinelReturningPool,
        db=url.db,
        username=url.username,
        password=url.password,
        **options,
    )
    return client
