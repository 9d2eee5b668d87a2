"""Request time limits: a client that trickles its body (slowloris) or a handler that hangs must
not hold the request forever.

Two deadlines per request: the body must have arrived within ``body_timeout_s`` of the request
head (else ``408``, and the connection is closed), and the answer must be ready within
``handler_timeout_s`` of the body's end (else ``503`` with ``Retry-After``: submissions are
idempotent by report id, so the client can safely retry). A slow request *head* is cut off
before it gets here, by the server (``shared.serving``). The gateway
(``services.ingest.gateway``) runs each request under them; the answers are here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send

from services.ingest.errors import ErrorItem, error_response

log = logging.getLogger("pacer.ingest")


@dataclass(frozen=True)
class RequestDeadlines:
    body_timeout_s: float
    handler_timeout_s: float

    async def answer_body_timeout(self, scope: Scope, receive: Receive, send: Send) -> None:
        log.warning("%s: body not received in %s s", _where(scope), self.body_timeout_s)
        message = f"the request body did not arrive within {self.body_timeout_s:g} s"
        response = error_response(
            408,
            [ErrorItem(["body"], "request_timeout", message)],
            headers={"Connection": "close"},  # the rest of the body may still be on its way
        )
        await response(scope, receive, send)

    async def answer_handler_timeout(self, scope: Scope, receive: Receive, send: Send) -> None:
        log.warning("%s: no answer within %s s", _where(scope), self.handler_timeout_s)
        message = (
            f"no answer within {self.handler_timeout_s:g} s; retry (a report with the same "
            "report_id is never stored twice)"
        )
        response = error_response(
            503, [ErrorItem([], "handler_timeout", message)], headers={"Retry-After": "1"}
        )
        await response(scope, receive, send)

    @staticmethod
    def too_late_to_answer(scope: Scope) -> None:
        """The deadline passed once the answer had begun: the connection is dropped."""
        log.warning("%s: deadline passed while answering", _where(scope))


class DeadlineWheel:
    """Request deadlines kept by one timer per event loop instead of one per request.

    ``asyncio.timeout`` arms a timer handle when entered, cancels it and arms another when the
    body's end moves the deadline, and cancels that at exit: ~12 us a request against ~3.5 us
    here (bench/NOTES-ingest-latency.md). Each request's ``asyncio.Timeout`` is entered with no
    deadline of its own and kept here with its due time; one timer, armed while any is kept,
    looks every ``tick_s`` and expires the overdue ones through ``Timeout.reschedule``. So
    ``asyncio.timeout``'s own semantics hold (the task is cancelled, its ``async with`` raises
    ``TimeoutError``, ``expired()`` tells), and a deadline passes at most ``tick_s`` late."""

    def __init__(self, tick_s: float = 0.05) -> None:
        self.tick_s = tick_s
        self._due: dict[asyncio.Timeout, float] = {}
        self._ticker: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def keep(self, timeout: asyncio.Timeout, within_s: float) -> None:
        """``timeout`` (entered, with no deadline) passes ``within_s`` from now; called again,
        its deadline moves."""
        loop = asyncio.get_running_loop()
        self._due[timeout] = loop.time() + within_s
        if self._ticker is None or self._loop is not loop:  # a new loop: the old timer is gone
            self._loop = loop
            self._ticker = loop.call_later(self.tick_s, self._tick)

    def drop(self, timeout: asyncio.Timeout) -> None:
        """Before ``timeout`` exits: its request is over, in time or not."""
        self._due.pop(timeout, None)

    def _tick(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        overdue = [timeout for timeout, due in self._due.items() if due <= now]
        for timeout in overdue:
            del self._due[timeout]
            # expires on the loop's next turn, as asyncio's own would; one that has exited (its
            # deadline moved after it was dropped) has nothing left to expire
            with contextlib.suppress(RuntimeError):
                timeout.reschedule(now)
        self._ticker = self._loop.call_later(self.tick_s, self._tick) if self._due else None


def _where(scope: Scope) -> str:
    return f"{scope['method']} {scope['path']}"
