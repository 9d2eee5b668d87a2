"""A real webhook receiver for tests: an HTTP server on loopback that records every POST."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    at: float
    """time.monotonic() when the request arrived."""
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """Answers the first requests with ``statuses`` in turn, then ``default``. With ``hang_s``,
    it reads each request and then says nothing for that long (a subscriber that never answers).
    """

    def __init__(self, statuses: Iterable[int] = (), default: int = 200, hang_s: float = 0) -> None:
        self._statuses = list(statuses)
        self._default = default
        self._hang_s = hang_s
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._received: list[Received] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, headers: dict[str, str], body: bytes) -> int | None:
        with self._lock:
            self._received.append(Received(time.monotonic(), headers, body))
            status = self._statuses.pop(0) if self._statuses else self._default
        if self._hang_s:
            self._closing.wait(self._hang_s)
            return None
        return status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._answer(headers, body)
                if status is None:
                    return
                with contextlib.suppress(OSError):  # the sender may have given up already
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
