"""Real processes for tests: a private redis-server and Pacer services, each stopped by pid."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def require_binary(name: str) -> str:
    """The binary's path; a missing binary fails under CI=true and skips elsewhere."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (apt: see .ci/run)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


PORTS_ENV = "PACER_TEST_PORTS"
"""``<first>-<last>``: the ports this run may take (``make test`` gives each of its two lanes its
own range, below the kernel's ephemeral ports). A port found free and then closed can be taken
by anyone before the server binds it; with two suites at once, a lane's service once answered on
a port the other lane had just been given, and a request meant for one server reached another.
Without it, the kernel picks any free port."""
_handed_out = itertools.count()
_start = os.getpid() * 7919  # subprocesses of one lane (a benchmark) start elsewhere in its range


def free_port() -> int:
    spec = os.environ.get(PORTS_ENV)
    if not spec:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    first, last = (int(part) for part in spec.split("-"))
    size = last - first + 1
    for _ in range(size):
        port = first + (_start + next(_handed_out)) % size
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:  # in use, or lingering: the next one
                continue
        return port
    raise RuntimeError(f"no free port in {PORTS_ENV}={spec}")


def wait_until(predicate: object, timeout: float = 10.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except Exception as exc:  # the thing may not be up yet
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"condition not met in {timeout}s (last error: {last_error!r})")


@dataclass
class RedisServer:
    """redis-server on a free loopback port with its data in ``directory``."""

    directory: Path
    port: int = field(default_factory=free_port)
    appendonly: bool = False
    binary: str = "redis-server"
    extra_args: tuple[str, ...] = ()
    """More options, after the ones above (``--replicaof``, for instance)."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                require_binary(self.binary) if "/" not in self.binary else self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--appendfsync",  # Redis's default, stated: what Pacer's deployments configure
                "everysec",
                "--logfile",
                str(self.directory / "redis.log"),
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.ping, timeout=10)
        return self

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def pause(self, ms: int) -> None:
        """``CLIENT PAUSE``: every client's commands wait ``ms`` before Redis answers them."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
            sock.sendall(f"CLIENT PAUSE {ms}\r\n".encode())
            answer = sock.recv(16)
        if not answer.startswith(b"+OK"):
            raise RuntimeError(f"CLIENT PAUSE {ms}: {answer!r}")

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def kill(self) -> None:
        """kill -9: no shutdown, nothing more written to the AOF, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


SERVICE_PORT_VARS = {
    "ingest": "PACER_API_PORT",
    "aggregator": "PACER_AGGREGATOR_PORT",
    "alerting": "PACER_ALERTING_PORT",
    "exporter": "PACER_EXPORTER_PORT",
    "portal": "PACER_PORTAL_PORT",
}


@dataclass
class Service:
    """One ``pacer serve <name>`` process on a free port."""

    name: str
    env: Mapping[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> Service:
        env = {**os.environ, **self.env, SERVICE_PORT_VARS[self.name]: str(self.port)}
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", self.name],
            env=env,
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 20.0) -> None:
        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200

        wait_until(ready, timeout=timeout)

    def kill(self) -> None:
        """kill -9: no graceful shutdown, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        stop_process(self.process)
        with contextlib.suppress(Exception):
            self._log.close()


TEST_CLOCK = "fixed:2024-07-15T12:00:00+08:00"
"""Mid-July 2024: June's reports are due, July's are in progress."""


@contextlib.contextmanager
def ingest_running(
    redis_url: str, tokens_file: Path, log_dir: Path, **env: str
) -> Iterator[Service]:
    """One ingest on a free port and the tests' fixed clock (``env`` adds or overrides), stopped
    on exit."""
    base = {
        "PACER_REDIS_URL": redis_url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": TEST_CLOCK,
    }
    service = Service("ingest", base | env, log_dir / "ingest.log")
    try:
        yield service.start()
    finally:
        service.stop()


@contextlib.contextmanager
def running(*services: Service) -> Iterator[tuple[Service, ...]]:
    try:
        for service in services:
            service.start()
        yield services
    finally:
        for service in reversed(services):
            service.stop()
