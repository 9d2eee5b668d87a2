"""Runs a service's ASGI app the same way for every service."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Sequence
from typing import Any, cast

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from shared.build_info import build_info

log = logging.getLogger("pacer.serving")

HEADER_TIMEOUT_S = 10.0
"""Default time a client has to send a request head, from connecting or from its first byte."""


class _CoalescedWrites:
    """A connection's transport, whose writes made in one turn of the event loop go out together
    at the start of the next.

    uvicorn writes an answer's head and its body apart, two ``send`` system calls and two
    packets for every small answer. On loopback each send also runs the receiver's side of TCP,
    and the two were about a tenth of the ingest's CPU per report (bench/NOTES-ingest-latency.md).
    What is held is written before the connection is closed or half-closed, and written at once
    past ``MAX_HELD_BYTES``, so a long streamed answer still meets the transport's flow
    control. Everything else is the transport's own."""

    MAX_HELD_BYTES = 64 * 1024

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._due: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self._held.append(bytes(data))
        self._held_bytes += len(data)
        if self._held_bytes > self.MAX_HELD_BYTES:
            self.flush()
        elif self._due is None:
            self._due = self._loop.call_soon(self.flush)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Writes what is held now."""
        if self._due is not None:
            self._due.cancel()
            self._due = None
        if self._held:
            held, self._held, self._held_bytes = self._held, [], 0
            if not self._transport.is_closing():  # a connection lost meanwhile takes nothing
                self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held, self._held_bytes = [], 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _HeadDeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request head does not arrive in
    time. uvicorn itself waits forever for a head that trickles in a byte at a time (slowloris);
    its keep-alive timeout only covers a connection idle between requests."""

    header_timeout_s = HEADER_TIMEOUT_S
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(cast(asyncio.Transport, _CoalescedWrites(transport, self.loop)))
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        if self._head_deadline is None and self.conn.their_state is h11.IDLE:
            self._arm_head_deadline()  # the first byte of the next request on a kept-alive one
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_deadline()  # the head is complete: the app's deadlines take over

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._head_deadline = self.loop.call_later(self.header_timeout_s, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def http_protocol(header_timeout_s: float = HEADER_TIMEOUT_S) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol as Pacer's services serve it: a request head must arrive
    within ``header_timeout_s``, and the writes of one loop turn go out together."""

    class Protocol(_HeadDeadlineProtocol):
        pass

    Protocol.header_timeout_s = header_timeout_s
    return Protocol


def serve_http(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    header_timeout_s: float = HEADER_TIMEOUT_S,
    trusted_proxies: Sequence[str] = (),
) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests get 5 s to finish. A connection must send
    its request head within ``header_timeout_s``; one idle after an answer is closed after 5 s.
    ``X-Forwarded-For`` and ``-Proto`` count only from ``trusted_proxies`` (addresses, CIDRs)."""
    # Everything built so far (imports, the app and its collaborators) lives as long as the
    # process. Frozen, the collector's full (gen-2) passes no longer walk it: in ingest and the
    # exporter those passes stalled requests for tens of ms and set the p99.
    gc.freeze()
    log.info("%s serving http://%s:%d", build_info(), host, port)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,  # its lines go through Pacer's own setup (shared.logs): text or JSON
        timeout_graceful_shutdown=5,
        timeout_keep_alive=5,
        http=http_protocol(header_timeout_s),
        # uvicorn's default trusts X-Forwarded-For from 127.0.0.1 (or $FORWARDED_ALLOW_IPS): any
        # process on the host could then pick its client address, and with it a fresh
        # rate-limit bucket per request. Off unless proxies are named.
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) or None,
    )
