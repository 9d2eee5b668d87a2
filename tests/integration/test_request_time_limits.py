"""Request time limits on a real ingest process, driven by raw sockets that trickle bytes."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CITY_TOKENS
from tests.support.processes import RedisServer, Service
from tests.support.reports import bearer

LIMITS = {
    "PACER_REQUEST_HEADER_TIMEOUT_S": "1",
    "PACER_REQUEST_BODY_TIMEOUT_S": "1",
    "PACER_REQUEST_TIMEOUT_S": "1",
    "PACER_REDIS_TIMEOUT_S": "10",  # so that a stuck Redis trips the handler deadline first
}


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Its own redis-server: one test freezes it (SIGSTOP)."""
    server = RedisServer(tmp_path_factory.mktemp("frozen-redis")).start()
    yield server
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


@pytest.fixture(scope="module")
def ingest(
    private_redis: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    env = {
        "PACER_REDIS_URL": private_redis.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": "fixed:2024-07-15T12:00:00+08:00",
    } | LIMITS
    service = Service("ingest", env, tmp_path_factory.mktemp("logs") / "ingest.log")
    try:
        yield service.start()
    finally:
        service.stop()


def connect(service: Service) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=5)
    return sock


def read_until_closed(sock: socket.socket, timeout_s: float = 5) -> bytes:
    sock.settimeout(timeout_s)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def dribble(sock: socket.socket, data: bytes, every_s: float, stop: Callable[[], bool]) -> None:
    """Send ``data`` a byte at a time until it is all sent or the server has hung up."""
    for byte in data:
        if stop():
            return
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return  # the server closed the connection: what the test waits for
        time.sleep(every_s)


def test_a_body_trickling_in_is_cut_off_with_408_and_the_error_body(ingest: Service) -> None:
    body = json.dumps({"period": "2024-06", "as_of": "2024-06-30", "indicators": {}}).encode()
    head = (
        "POST /v1/cities/jinan/reports/gigabit HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Bearer {CITY_TOKENS['jinan']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with connect(ingest) as sock:
        sock.sendall(head + body[:5])
        started = time.monotonic()
        answered = threading.Event()
        # One byte every 0.2 s (10 s for the body) from a thread, while this one waits on the
        # socket: the 408 is read the moment it arrives. Sending and reading in turn lost it now
        # and then: a byte sent just after the server hung up drew a reset that discarded it.
        sender = threading.Thread(
            target=dribble, args=(sock, body[5:], 0.2, answered.is_set), daemon=True
        )
        sender.start()
        sock.settimeout(8)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                answered.set()
        except ConnectionResetError:
            pass  # after the answer: the sender's next byte met a closed connection
        answered.set()
        elapsed = time.monotonic() - started
        sender.join(timeout=1)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout", answer[:300]
    payload = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert payload["errors"][0]["code"] == "request_timeout"
    assert payload["errors"][0]["loc"] == ["body"]
    assert elapsed < 4, elapsed


def test_a_request_head_trickling_in_is_dropped_and_others_are_served_meanwhile(
    ingest: Service,
) -> None:
    head = b"GET /v1/progress HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    with connect(ingest) as slow, httpx.Client(base_url=ingest.url, timeout=2) as api:
        started = time.monotonic()
        slow.settimeout(0.1)
        closed = False
        for byte in head:
            try:
                slow.sendall(bytes([byte]))
                closed = slow.recv(1) == b""
            except TimeoutError:
                pass
            except OSError:
                closed = True
            if closed:
                break
            # Meanwhile the server answers everyone else at once.
            assert api.get("/healthz").status_code == 200
        elapsed = time.monotonic() - started
    assert closed and elapsed < 4, elapsed


def test_a_connection_that_sends_nothing_is_closed(ingest: Service) -> None:
    with connect(ingest) as sock:
        started = time.monotonic()
        assert read_until_closed(sock) == b""
        assert time.monotonic() - started < 4


def test_a_handler_stuck_on_its_store_answers_503_with_retry_after(
    ingest: Service, private_redis: RedisServer
) -> None:
    assert private_redis.process is not None
    os.kill(private_redis.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = httpx.get(
            f"{ingest.url}/v1/progress", headers=bearer(CITY_TOKENS["jinan"]), timeout=10
        )
        elapsed = time.monotonic() - started
    finally:
        os.kill(private_redis.process.pid, signal.SIGCONT)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["errors"][0]["code"] == "handler_timeout"
    assert elapsed < 4, elapsed
    # The store is back: so is the answer.
    again = httpx.get(f"{ingest.url}/v1/progress", headers=bearer(CITY_TOKENS["jinan"]))
    assert again.status_code == 200
