"""Fixtures shared by every test tier: a private redis-server, tokens, service processes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.support.processes import RedisServer, Service

CITY_TOKENS = {
    "jinan": "tok-jinan-5d1f",
    "qingdao": "tok-qingdao-8a2c",
}
ADMIN_TOKEN = "tok-admin-77e0"
VIEWER_TOKEN = "tok-viewer-3b94"


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture(scope="session")
def tokens_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = ["tokens:"]
    for city, token in CITY_TOKENS.items():
        lines.append(
            f"  - {{name: {city}-officer, sha256: {_sha(token)}, role: city, city: {city}}}"
        )
    lines.append(f"  - {{name: ops-admin, sha256: {_sha(ADMIN_TOKEN)}, role: admin}}")
    lines.append(f"  - {{name: dashboard, sha256: {_sha(VIEWER_TOKEN)}, role: viewer}}")
    path = tmp_path_factory.mktemp("tokens") / "tokens.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A sync client on an emptied database (each test starts from nothing)."""
    client = redis.Redis(port=redis_server.port, decode_responses=True)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def service_env(redis_server: RedisServer, tokens_file: Path) -> dict[str, str]:
    return {
        "PACER_REDIS_URL": redis_server.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": "fixed:2024-07-15T12:00:00+08:00",
        "PACER_RECLAIM_IDLE_MS": "1000",
        "PACER_MAX_ATTEMPTS": "3",
        "PACER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",  # test webhook receivers are on loopback
    }


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def make(name: str, env: dict[str, str], start: bool = True) -> Service:
        service = Service(name, env, tmp_path / f"{name}.log")
        started.append(service)
        return service.start() if start else service

    yield make
    for service in reversed(started):
        service.stop()
