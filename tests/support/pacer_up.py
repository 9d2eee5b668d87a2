"""``pacer up`` as a real process tree for end-to-end tests, always stopped by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.cli.main import SERVICES
from tests.support.processes import REPO_ROOT, SERVICE_PORT_VARS, free_port, wait_until

STARTUP_TIMEOUT_S = 30.0


def children_of(pid: int) -> dict[int, list[str]]:
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


def environ_of(pid: int) -> dict[str, str]:
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
        for pid, argv in children_of(self.process.pid).items():
            if argv[-2:] == ["serve", name]:
                return pid
        return None

    def redis_pid(self) -> int:
        [pid] = [pid for pid, argv in children_of(self.process.pid).items() if "serve" not in argv]
        return pid

    def is_ready(self, name: str) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"pacer up exited: {self.log()[-3000:]}")
        url = f"http://127.0.0.1:{self.ports[name]}/readyz"
        return httpx.get(url, timeout=1).status_code == 200

    def wait_all_ready(self) -> None:
        # Every service in SERVICES (alerting joins it later) must answer /readyz.
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

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def tokens(self) -> dict[str, str]:
        """name -> plaintext token, from the tokens.secret file ``pacer up`` wrote."""
        lines = (self.var / "tokens.secret").read_text().splitlines()
        rows = [line.split() for line in lines if line.strip() and not line.startswith("#")]
        return {name: token for name, _role, _city, token in rows}


def launch(workdir: Path, log_path: Path, **env_overrides: str) -> PacerUp:
    """``pacer up`` started in ``workdir`` (its var/ there) on free ports, its output in
    ``log_path``, with none of this process's PACER_* settings and ``env_overrides`` added; not
    waited for."""
    ports = {name: free_port() for name in SERVICE_PORT_VARS}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACER_")}
    env |= {SERVICE_PORT_VARS[name]: str(port) for name, port in ports.items()}
    env["PYTHONPATH"] = str(REPO_ROOT)  # the children run from workdir, not the repo
    env["PACER_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"  # test receivers are on loopback
    env |= env_overrides
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", "--var-dir", "var"],
            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return PacerUp(process, workdir / "var", ports, log_path)
