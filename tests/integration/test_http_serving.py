"""Pacer's HTTP protocol (``shared.serving.http_protocol``) on a real uvicorn server and real
sockets: an answer's head and body reach the connection's socket in one write, and with writes
held to the end of the loop turn every answer still arrives whole and in order, a long streamed
one included, and before a closing connection ends."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from shared.serving import http_protocol
from tests.support.processes import free_port, wait_until

CHUNK = bytes(range(256)) * 256  # 64 KiB
CHUNKS = 48  # 3 MiB


async def small(request: Request) -> Response:
    return PlainTextResponse(f"answer {request.path_params['n']}")


async def long(_: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        for _ in range(CHUNKS):  # never waits between chunks: nothing but flow control paces it
            yield CHUNK

    return StreamingResponse(body(), media_type="application/octet-stream")


async def closing(_: Request) -> Response:
    return PlainTextResponse("last words", headers={"Connection": "close"})


@dataclass(frozen=True)
class Running:
    port: int
    server: uvicorn.Server


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    app = Starlette(
        routes=[Route("/small/{n}", small), Route("/long", long), Route("/closing", closing)]
    )
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=http_protocol(), log_level="warning", lifespan="off"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    wait_until(lambda: running.started, timeout=10)
    yield Running(port, running)
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def server(running: Running) -> int:
    return running.port


def request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def read_answer(sock: socket.socket, buffered: bytearray) -> tuple[bytes, bytes]:
    """One answer's head and body (sized or chunked); the bytes after it stay in ``buffered``."""
    while b"\r\n\r\n" not in buffered:
        buffered += recv(sock)
    head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    buffered[:] = rest
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(b":") for line in head.split(b"\r\n")[1:])
    }
    if b"content-length" in headers:
        size = int(headers[b"content-length"])
        while len(buffered) < size:
            buffered += recv(sock)
        body = bytes(buffered[:size])
        buffered[:] = buffered[size:]
        return head, body
    assert headers[b"transfer-encoding"] == b"chunked"
    body = bytearray()
    while True:
        while b"\r\n" not in buffered:
            buffered += recv(sock)
        line, _, rest = bytes(buffered).partition(b"\r\n")
        size = int(line, 16)
        while len(rest) < size + 2:
            rest += recv(sock)
        body += rest[:size]
        buffered[:] = rest[size + 2 :]
        if size == 0:
            return head, bytes(body)


def recv(sock: socket.socket) -> bytes:
    data = sock.recv(65536)
    assert data, "the server closed the connection before the answer was whole"
    return data


def socket_writes(running: Running, sock: socket.socket) -> list[bytes]:
    """What the server writes to this connection's socket from now on, write by write (the
    asyncio transport under whatever the protocol writes through)."""
    [protocol] = [
        p for p in running.server.server_state.connections if p.client == sock.getsockname()
    ]
    transport = protocol.transport
    real: Any = getattr(transport, "_transport", transport)  # under Pacer's one-write layer
    writes: list[bytes] = []
    write: Callable[[bytes], None] = real.write

    def recorded(data: bytes) -> None:
        writes.append(bytes(data))
        write(data)

    real.write = recorded
    return writes


def test_an_answers_head_and_body_reach_the_socket_in_one_write(running: Running) -> None:
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        buffered = bytearray()
        sock.sendall(request("/small/0"))
        read_answer(sock, buffered)  # the connection is open and idle: its protocol is known
        writes = socket_writes(running, sock)
        sock.sendall(request("/small/1"))
        head, body = read_answer(sock, buffered)
    assert body == b"answer 1"
    assert writes == [head + b"\r\n\r\n" + body]  # uvicorn alone writes the head, then the body


def test_answers_on_a_kept_alive_connection_arrive_whole_and_in_order(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        buffered = bytearray()
        for n in range(20):
            sock.sendall(request(f"/small/{n}"))
            head, body = read_answer(sock, buffered)
            assert head.startswith(b"HTTP/1.1 200 OK"), head
            assert body == f"answer {n}".encode()
        # pipelined: three requests in one write, three answers in order
        sock.sendall(b"".join(request(f"/small/{n}") for n in (20, 21, 22)))
        assert [read_answer(sock, buffered)[1] for _ in range(3)] == [
            b"answer 20",
            b"answer 21",
            b"answer 22",
        ]
        assert buffered == b""


def test_a_long_answer_streamed_without_pause_arrives_whole(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        buffered = bytearray()
        sock.sendall(request("/long"))
        head, body = read_answer(sock, buffered)
        assert head.startswith(b"HTTP/1.1 200 OK"), head
        assert body == CHUNK * CHUNKS
        sock.sendall(request("/small/after"))  # the connection still serves
        assert read_answer(sock, buffered)[1] == b"answer after"


def test_an_answer_that_closes_its_connection_arrives_whole_before_the_close(
    server: int,
) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(request("/closing"))
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), head
    assert body == b"last words"
