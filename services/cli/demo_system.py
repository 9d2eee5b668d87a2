"""``pacer demo --start``: a private ``pacer up`` on an accelerated clock, and its way out.

The clock is ``offset:2024-01-01T00:00:00+08:00;speed=<factor>;control=<var>/clock.control``:
every service shares one timeline, running a month every ``seconds_per_month``, that the demo
steers through the control file (``ClockControl``): it stands at 2024-01-01 until every service
is ready, and the demo holds it whenever the cities' reports would otherwise reach Pacer later
than the story says (a busy machine). The alert timings are sized for that speed:
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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

import httpx
from prometheus_client.parser import text_string_to_metric_families

from services.cli.child_process import spawn
from shared.clock import write_clock_control

SIM_START = "2024-01-01T00:00:00+08:00"
SECONDS_PER_DAY = 86_400
DAYS_PER_MONTH = 365.2425 / 12
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


@dataclass
class ClockControl:
    """The demo's hand on its private Pacer's clock: holds it, and lets it run on from where it
    stands (``shared.clock``, ``;control=<path>``). Reads as the demo's idea of the server's
    "now" too, exactly: nothing to measure or extrapolate."""

    path: Path
    speed: float
    """Simulated seconds per real second."""
    real: Callable[[], float] = time.time
    _held: datetime | None = field(default=None, init=False)
    _since: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.hold(datetime.fromisoformat(SIM_START))

    @property
    def spec(self) -> str:
        return f"offset:{SIM_START};speed={self.speed:.3f};control={self.path}"

    @property
    def held(self) -> bool:
        return self._held is not None

    def hold(self, at: datetime | None = None) -> None:
        """Stop every service's clock (at ``at``, else where it stands)."""
        self._held = at if at is not None else self.now()
        write_clock_control(self.path, hold=self._held)

    def run(self) -> None:
        """Let the clock run on from where it stands."""
        if self._held is None:
            return
        start = datetime.fromisoformat(SIM_START)
        self._since = self.real() - (self._held - start).total_seconds() / self.speed
        self._held = None
        write_clock_control(self.path, since=self._since)

    def now(self) -> datetime:
        if self._held is not None:
            return self._held
        start = datetime.fromisoformat(SIM_START)
        return start + timedelta(seconds=(self.real() - self._since) * self.speed)

    def sync(self) -> datetime:
        return self.now()

    def real_seconds_until(self, instant: datetime) -> float:
        """Real seconds the clock needs to reach ``instant`` once running (0 if it has)."""
        return max(0.0, (instant - self.now()).total_seconds() / self.speed)


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

    def notifications(self) -> dict[str, int] | None:
        """The alerting service's ``pacer_alert_notifications_total`` by event (firing,
        resolved, repeat): what it decided to notify; None if its metrics do not answer."""
        try:
            text = httpx.get(f"{self.url('alerting')}/metrics", timeout=5).text
        except httpx.HTTPError:
            return None
        return {
            sample.labels["event"]: int(sample.value)
            for family in text_string_to_metric_families(text)
            if family.name == "pacer_alert_notifications"
            for sample in family.samples
            if sample.name.endswith("_total")
        }

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
