"""Request time limits: a client that trickles its body (slowloris) or a handler that hangs must
not hold the request forever.

Two deadlines per request: the body must have arrived within ``body_timeout_s`` of the request
head (else ``408``, and the connection is closed), and the answer must be ready within
``handler_timeout_s`` of the body's end (else ``503`` with ``Retry-After``: submissions are
idempotent by report id, so the client can safely retry). A slow request *head* is cut off
before it gets here, by the server (``shared.serving``).
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.ingest.errors import ErrorItem, error_response

log = logging.getLogger("pacer.ingest")


def _has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    return b"transfer-encoding" in headers or headers.get(b"content-length", b"0") != b"0"


class RequestDeadlineMiddleware:
    def __init__(self, app: ASGIApp, body_timeout_s: float, handler_timeout_s: float) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s
        self.handler_timeout_s = handler_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        body_done = not _has_body(scope)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        deadline = asyncio.timeout(self.handler_timeout_s if body_done else self.body_timeout_s)

        async def timed_receive() -> Message:
            nonlocal body_done
            message = await receive()
            if not body_done and not (
                message["type"] == "http.request" and message.get("more_body", False)
            ):
                body_done = True  # the handler's own time starts now
                deadline.reschedule(loop.time() + self.handler_timeout_s)
            return message

        try:
            async with deadline:
                await self.app(scope, timed_receive, tracking_send)
        except TimeoutError:
            if not deadline.expired():
                raise  # the handler's own TimeoutError, not our deadline
            where = f"{scope['method']} {scope['path']}"
            if started:  # too late for an error body: the connection is dropped
                log.warning("%s: deadline passed while answering", where)
                return
            if not body_done:
                log.warning("%s: body not received in %s s", where, self.body_timeout_s)
                await self._answer_body_timeout(scope, receive, send)
            else:
                log.warning("%s: no answer within %s s", where, self.handler_timeout_s)
                await self._answer_handler_timeout(scope, receive, send)

    async def _answer_body_timeout(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body did not arrive within {self.body_timeout_s:g} s"
        response = error_response(
            408,
            [ErrorItem(["body"], "request_timeout", message)],
            headers={"Connection": "close"},  # the rest of the body may still be on its way
        )
        await response(scope, receive, send)

    async def _answer_handler_timeout(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = (
            f"no answer within {self.handler_timeout_s:g} s; retry (a report with the same "
            "report_id is never stored twice)"
        )
        response = error_response(
            503, [ErrorItem([], "handler_timeout", message)], headers={"Retry-After": "1"}
        )
        await response(scope, receive, send)
