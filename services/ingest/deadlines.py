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


def _where(scope: Scope) -> str:
    return f"{scope['method']} {scope['path']}"
