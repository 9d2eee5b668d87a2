"""``pacer demo --start``: a private ``pacer up`` on an accelerated clock, and its way out.

The clock is ``offset:2024-01-01T00:00:00+08:00;since=<a few seconds from now>;speed=<factor>``,
so every service shares one timeline that reaches 2024-01-01 just after the system is ready and
then runs a month every ``seconds_per_month``. The alert timings are sized for that speed:
``PACER_EVAL_INTERVAL`` is real seconds (a fraction of a simulated month), ``PACER_REPEAT_INTERVAL``
and ``PACER_RESOLVE_HOLD`` compare clock instants, so they are simulated seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from services.cli.child_process import spawn

SIM_START = "2024-01-01T00:00:00+08:00"
SECONDS_PER_DAY = 86_400
DAYS_PER_MONTH = 365.2425 / 12
START_LEAD_S = 6.0
"""The simulated clock reaches SIM_START this long after ``pacer up`` is launched."""
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
DEFAULT_PORTS = {
    "ingest": ("PACER_API_PORT", 8000),
    "aggregator": ("PACER_AGGREGATOR_PORT", 8001),
    "alerting": ("PACER_ALERTING_PORT", 8002),
    "exporter": ("PACER_EXPORTER_PORT", 9108),
    "portal": ("PACER_PORTAL_PORT", 8003),
}
REPO_ROOT = Path(__file__).resolve().parents[2]


def clock_speed(seconds_per_month: float) -> float:
    """How many times faster than real time the clock runs for a month to take that long."""
    return DAYS_PER_MONTH * SECONDS_PER_DAY / seconds_per_month


def alert_timing_env(
    seconds_per_month: float, resolve_hold_days: float, repeat_days: float = 90
) -> dict[str, str]:
    """The alerting settings sized for the acceleration (see the module docstring)."""
    return {
        "PACER_EVAL_INTERVAL": f"{min(0.5, seconds_per_month / 10):.3f}",
        "PACER_REPEAT_INTERVAL": str(int(repeat_days * SECONDS_PER_DAY)),
        "PACER_RESOLVE_HOLD": str(int(resolve_hold_days * SECONDS_PER_DAY)),
        "PACER_DELIVERY_BACKOFF_S": "0.2",
        "PACER_DELIVERY_BACKOFF_MAX_S": "5",
    }


def accelerated_clock(seconds_per_month: float, starts_in_s: float) -> str:
    since = time.time() + starts_in_s
    return f"offset:{SIM_START};since={since:.3f};speed={clock_speed(seconds_per_month):.3f}"


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def choose_ports(prefer_usual: bool = True) -> dict[str, int]:
    """The usual ports if all are free (the URLs people know), else free ones."""
    usual = {name: port for name, (_var, port) in DEFAULT_PORTS.items()}
    if prefer_usual and all(_port_is_free(port) for port in usual.values()):
        return usual
    chosen: dict[str, int] = {}
    for name in DEFAULT_PORTS:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            chosen[name] = int(sock.getsockname()[1])
    return chosen


@dataclass
class LocalPacer:
    """A ``pacer up`` the demo started, its output in ``var/pacer-up.log``."""

    var: Path
    ports: dict[str, int]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.var / "pacer-up.log"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        argv = [sys.executable, "-m", "services.cli", "up", "--var-dir", str(self.var)]
        self.process = spawn(argv, self.env, output=self._log)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Every service answers /readyz; raises with the log's tail if ``pacer up`` died."""
        deadline = time.monotonic() + timeout_s
        waiting = list(self.ports)
        while waiting:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"pacer up exited; its log ends:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout_s:.0f} s: {', '.join(waiting)}")
            try:
                if httpx.get(f"{self.url(waiting[0])}/readyz", timeout=1).status_code == 200:
                    waiting.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            time.sleep(0.1)

    def tokens(self) -> dict[str, tuple[str, str | None]]:
        """name -> (token, city) from the plaintext tokens file ``pacer up`` wrote."""
        found: dict[str, tuple[str, str | None]] = {}
        for line in (self.var / "tokens.secret").read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                name, _role, city, token = line.split()
                found[name] = (token, None if city == "-" else city)
        return found

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGINT, as Ctrl-C would: services first, then the embedded Redis."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def local_pacer(
    var: Path, clock: str, timing: dict[str, str], usual_ports: bool = True
) -> LocalPacer:
    """A LocalPacer with its own embedded Redis and tokens under ``var`` (not started)."""
    ports = choose_ports(prefer_usual=usual_ports)
    # Nothing of the caller's PACER_* may leak in: above all not a PACER_REDIS_URL, or the demo
    # would write into that Redis. The targets file stays, so the demo and the system agree.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACER_")}
    if "PACER_TARGETS_FILE" in os.environ:
        env["PACER_TARGETS_FILE"] = os.environ["PACER_TARGETS_FILE"]
    env |= {DEFAULT_PORTS[name][0]: str(port) for name, port in ports.items()}
    env |= timing | {"PACER_CLOCK": clock}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return LocalPacer(var.resolve(), ports, env)
