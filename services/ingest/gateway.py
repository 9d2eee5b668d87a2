"""The ingest's one ASGI middleware: request metrics, the per-caller rate limit, the request
deadlines and the body size limit, in that order, around every HTTP request.

One layer rather than four: each layer was a coroutine, a ``receive`` and a ``send`` wrapper that
every request and every message of its answer passed through, in and out (about a tenth of a
report's CPU; bench/NOTES-ingest-latency.md). The rules themselves stay with their nouns:
``observability`` (metrics), ``ratelimit`` (buckets, callers, the 429), ``deadlines`` (the 408
and 503 answers), ``limits`` (the 413). Reports meet a second instance of it, with the same
collaborators, in front of FastAPI (``app.IngestApp``); its ``lane`` serves them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.ingest.context import remember_principal
from services.ingest.deadlines import DeadlineWheel, RequestDeadlines
from services.ingest.limits import BodyLimit, BodyTooLargeError
from services.ingest.observability import RequestMetrics
from services.ingest.ratelimit import RateLimiter


class Lane(Protocol):
    """Serves some requests itself, past the app's own layers (``routes_reports.SubmitLane``)."""

    def route(self, scope: Scope) -> ASGIApp | None:
        """The app for this request if the lane serves it, else None."""
        ...


class Gateway:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: RequestMetrics,
        body_limit: BodyLimit,
        deadlines: RequestDeadlines,
        rate_limiter: RateLimiter | None = None,
        lane: Lane | None = None,
    ) -> None:
        """``lane``: the requests it serves go to it, every other one to ``app``; the gateway's
        rules hold for both."""
        self.app = app
        self.lane = lane
        self.metrics = metrics
        self.body_limit = body_limit
        self.deadlines = deadlines
        self._wheel = DeadlineWheel()
        self.rate_limiter = rate_limiter

    def lane_for(self, scope: Scope) -> ASGIApp | None:
        """Its lane's app for this request, None if the lane does not serve it."""
        return self.lane.route(scope) if self.lane is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.serve(scope, receive, send, self.lane_for(scope) or self.app)

    async def serve(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        """An HTTP request, served by ``app`` under the gateway's rules (``app``: this gateway's
        app or its lane's, looked up once by whoever calls)."""
        started = time.perf_counter()
        exchange = _Exchange(receive, send, self.body_limit.max_bytes)
        try:
            await self._admit(scope, exchange, app)
        finally:
            status = 500 if exchange.status is None else exchange.status
            self.metrics.observe(scope, status, time.perf_counter() - started)

    async def _admit(self, scope: Scope, exchange: _Exchange, app: ASGIApp) -> None:
        limiter = self.rate_limiter
        # Before the deadlines and the body: a throttled request reads no body.
        if limiter is not None and limiter.applies_to(scope):
            caller = limiter.identify(scope)
            refusal = limiter.refusal(caller)
            if refusal is not None:
                await refusal(scope, exchange.receive_raw, exchange.send)
                return
            if caller.principal is not None:
                remember_principal(scope, caller.principal)
        content_length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:  # the last of repeated headers counts, as in a dict
            if name == b"content-length":
                content_length = value
            elif name == b"transfer-encoding":
                chunked = True
        if self.body_limit.declared_too_large(content_length):
            await self.body_limit.reject(exchange.send)
            return
        await self._run_within_deadlines(
            scope, exchange, app, chunked or content_length not in (None, b"0")
        )

    async def _run_within_deadlines(
        self, scope: Scope, exchange: _Exchange, app: ASGIApp, body: bool
    ) -> None:
        deadlines = self.deadlines
        deadline = asyncio.timeout(None)  # kept by the wheel
        wheel = self._wheel
        try:
            async with deadline:
                if body:  # the body's end moves the deadline (see _Exchange.receive)
                    wheel.keep(deadline, deadlines.body_timeout_s)
                    exchange.await_body(deadline, wheel, deadlines.handler_timeout_s)
                else:
                    wheel.keep(deadline, deadlines.handler_timeout_s)
                try:
                    await app(scope, exchange.receive, exchange.send)
                except BodyTooLargeError:
                    if exchange.status is None:
                        await self.body_limit.reject(exchange.send)
                finally:
                    wheel.drop(deadline)
        except TimeoutError:
            if not deadline.expired():
                raise  # the handler's own TimeoutError, not our deadline
            if exchange.status is not None:  # too late for an error body
                deadlines.too_late_to_answer(scope)
            elif exchange.awaiting_body is not None:
                await deadlines.answer_body_timeout(scope, exchange.receive_raw, exchange.send)
            else:
                await deadlines.answer_handler_timeout(scope, exchange.receive_raw, exchange.send)


class _Exchange:
    """One request's ``receive`` and ``send`` as the app sees them, and what they have seen."""

    __slots__ = (
        "_handler_timeout_s",
        "_max_bytes",
        "_send",
        "_wheel",
        "awaiting_body",
        "receive_raw",
        "seen",
        "status",
    )

    def __init__(self, receive: Receive, send: Send, max_bytes: int) -> None:
        self.receive_raw = receive
        self._send = send
        self._max_bytes = max_bytes
        self.seen = 0
        self.status: int | None = None
        """The answer's status once it has begun."""
        self.awaiting_body: asyncio.Timeout | None = None
        """The body's deadline, until the body's end makes it the handler's."""
        self._handler_timeout_s = 0.0
        self._wheel: DeadlineWheel | None = None

    def await_body(
        self, deadline: asyncio.Timeout, wheel: DeadlineWheel, handler_timeout_s: float
    ) -> None:
        self.awaiting_body = deadline
        self._wheel = wheel
        self._handler_timeout_s = handler_timeout_s

    async def receive(self) -> Message:
        message = await self.receive_raw()
        if message["type"] == "http.request":
            if self.awaiting_body is not None and not message.get("more_body", False):
                self._body_done()
            self.seen += len(message.get("body", b""))
            if self.seen > self._max_bytes:
                raise BodyTooLargeError
        elif self.awaiting_body is not None:
            self._body_done()  # a disconnect: no more body will come
        return message

    def _body_done(self) -> None:
        """The handler's own time starts now."""
        assert self.awaiting_body is not None and self._wheel is not None
        self._wheel.keep(self.awaiting_body, self._handler_timeout_s)
        self.awaiting_body = None

    async def send(self, message: Message) -> None:
        if self.status is None and message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self._send(message)
