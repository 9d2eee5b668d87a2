"""A Lua script whose calls on the same turn of the event loop reach Redis together.

Under load the ingest runs many accept calls at once, each its own request. Sent one by one, each
borrows a pool connection, writes its own ``EVALSHA`` (a ``send`` system call) and wakes on its
own answer (a ``recv``, its own turn of the loop). Batched, the calls made on one turn of the loop
share a connection, one write and, mostly, one read: at 64 requests in flight a gigabit report
costs about a third less CPU in process (bench/NOTES-ingest-latency.md, seventh pass). Redis runs
them one after another exactly as it would have run them one by one (a script is atomic either
way), and each caller gets its own answer or its own error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

_Call = tuple[tuple[Any, ...], "asyncio.Future[Any]"]


class BatchedScript:
    """``script(keys=..., args=...)``, batched with the other calls of the same loop turn.

    A call waits for the loop's next turn at most, then its ``EVALSHA`` goes out with the rest of
    its batch, on a task of the batch's own: a caller cancelled meanwhile (its request's
    deadline) abandons its answer, never the batch, so the connection is never left with
    half-read answers. A Redis without the script loaded (restarted, flushed) answers
    ``NOSCRIPT``; that call is then made again by ``AsyncScript`` itself, which loads it. An
    error of the connection fails the calls of its batch that had no answer yet, as it would
    have failed each of them alone; whether such a call ran in Redis is unknown either way."""

    def __init__(self, redis: Redis, script: AsyncScript) -> None:
        self._redis = redis
        self._script = script
        self._queued: list[_Call] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exchanges: set[asyncio.Task[None]] = set()  # held: the loop keeps weak references

    async def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first call, or an earlier loop's queue that never ran
            self._loop, self._queued = loop, []
        if not self._queued:
            loop.call_soon(self._send_queued)
        answer: asyncio.Future[Any] = loop.create_future()
        self._queued.append((("EVALSHA", self._script.sha, len(keys), *keys, *args), answer))
        try:
            return await answer
        except NoScriptError:
            return await self._script(keys=keys, args=args)

    def _send_queued(self) -> None:
        batch, self._queued = self._queued, []
        batch = [call for call in batch if not call[1].done()]  # cancelled before they left
        if batch:
            task = asyncio.get_running_loop().create_task(self._exchange(batch))
            self._exchanges.add(task)
            task.add_done_callback(self._exchanges.discard)

    async def _exchange(self, batch: list[_Call]) -> None:
        pool = self._redis.connection_pool
        try:
            connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        except BaseException as error:
            _fail([answer for _, answer in batch], error)  # raised by each caller: nothing left
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        packed: list[bytes] = []
        sent: list[asyncio.Future[Any]] = []
        for command, answer in batch:
            if answer.done():  # its caller was cancelled while the connection came
                continue
            try:
                packed += connection.pack_command(*command)
            except Exception as error:  # an argument Redis cannot take: this call's own error
                answer.set_exception(error)
            else:
                sent.append(answer)
        answered = 0
        try:
            if sent:
                await connection.send_packed_command(packed)
            for answer in sent:
                try:
                    result = await connection.read_response()
                except ResponseError as error:  # this call's own error: the rest still follow
                    if not answer.done():
                        answer.set_exception(error)
                else:
                    if not answer.done():
                        answer.set_result(result)
                answered += 1
        except BaseException as error:
            _fail(sent[answered:], error)  # first: nothing below may leave a caller waiting
            if isinstance(error, (RedisConnectionError, RedisTimeoutError)):
                with contextlib.suppress(Exception):
                    await connection.disconnect()
            if isinstance(error, asyncio.CancelledError):
                raise
        finally:
            await pool.release(connection)


def _fail(answers: list[asyncio.Future[Any]], error: BaseException) -> None:
    failure = (
        RedisConnectionError("the batch's connection was closed")
        if isinstance(error, asyncio.CancelledError)
        else error
    )
    for answer in answers:
        if not answer.done():
            answer.set_exception(failure)
