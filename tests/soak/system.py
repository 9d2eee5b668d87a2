"""A private Pacer for the soak: its own Redis (AOF on), tokens, four services, a webhook receiver.

Redis is one redis-server, or (``sentinel``) a primary, a replica and three sentinels that the
services find through a ``redis+sentinel://`` URL. Everything lives in one temporary directory
and every process is stopped by its pid. The soak is the services' supervisor: it restarts what
it kills, and also anything that exits on its own (counted, since that is worth knowing).
"""

from __future__ import annotations

import contextlib
import random
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.cli.tokens import IssuedToken, tokens_yaml
from shared.domain.targets import Targets
from tests.soak.load import NOW
from tests.support.processes import RedisServer, Service
from tests.support.sentinel import SentinelRedis
from tests.support.webhooks import WebhookReceiver

SERVICE_NAMES = ("ingest", "aggregator", "alerting", "exporter")
WEBHOOK_SECRET = "soak-webhook-secret-0123456789"


def service_env(redis_url: str, tokens_file: Path) -> dict[str, str]:
    """Short intervals so a crash is recovered and the system settles within seconds."""
    return {
        "PACER_REDIS_URL": redis_url,
        "PACER_TOKENS_FILE": str(tokens_file),
        # Fixed: the final alert set is a function of the final state alone (load.NOW).
        "PACER_CLOCK": f"fixed:{NOW}",
        "PACER_EVAL_INTERVAL": "0.5",
        "PACER_RESOLVE_HOLD": "0",
        "PACER_REPEAT_INTERVAL": "86400",
        "PACER_RECLAIM_IDLE_MS": "1500",
        "PACER_MAX_ATTEMPTS": "5",
        "PACER_DELIVERY_BACKOFF_S": "0.2",
        "PACER_DELIVERY_BACKOFF_MAX_S": "1",
        "PACER_DELIVERY_MAX_ATTEMPTS": "100",
        "PACER_DELIVERY_TIMEOUT_S": "2",
        # The per-token rate limit far above the soak's load (it measures faults, not quotas);
        # the backlog bound stays at its default: its 503s are retried like any other.
        "PACER_RATE_LIMIT_RPS": "100000",
        "PACER_RATE_LIMIT_BURST": "100000",
        "PACER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    }


@dataclass(frozen=True)
class Failover:
    """One kill -9 of the primary."""

    killed_port: int
    promoted_s: float
    """From the kill until every sentinel named the replica as the primary."""
    rejoined_s: float
    """From then until the killed node, started again, was the new primary's replica in sync."""


@dataclass
class SoakSystem:
    directory: Path
    targets: Targets
    rng: random.Random
    sentinel: bool = False
    """A primary, a replica and three sentinels instead of one redis-server."""
    replica_lag_s: float = 0.0
    """With ``sentinel``: how far behind the replication stream runs (``LaggingLink``)."""
    env: dict[str, str] = field(default_factory=dict)
    """Settings the services get on top of ``service_env`` (``PACER_REDIS_MIN_REPLICAS``)."""
    redis: RedisServer | SentinelRedis = field(init=False)
    failovers: list[Failover] = field(init=False, default_factory=list)
    services: dict[str, Service] = field(init=False)
    receiver: WebhookReceiver = field(init=False)
    city_tokens: dict[str, str] = field(init=False)
    admin_token: str = field(init=False)
    unexpected_exits: dict[str, int] = field(init=False)
    _restarting: threading.Lock = field(default_factory=threading.Lock)
    """Held by a fault and by the watchdog: a process the soak killed is not also revived."""

    def __post_init__(self) -> None:
        if self.sentinel:
            self.redis = SentinelRedis(
                self.directory / "redis", appendonly=True, replica_lag_s=self.replica_lag_s
            )
        else:
            self.redis = RedisServer(
                self.directory / "redis", appendonly=True, binary=_redis_binary()
            )
        self.city_tokens = {
            city: f"soak-{city}-{secrets.token_hex(8)}" for city in self.targets.cities
        }
        self.admin_token = f"soak-admin-{secrets.token_hex(8)}"
        tokens_file = self._write_tokens()
        env = service_env(self.redis.url, tokens_file) | self.env
        self.services = {
            name: Service(name, env, self.directory / f"{name}.log") for name in SERVICE_NAMES
        }
        self.receiver = WebhookReceiver()
        self.unexpected_exits = {}

    @property
    def api_url(self) -> str:
        return self.services["ingest"].url

    @contextlib.contextmanager
    def running(self) -> Iterator[SoakSystem]:
        try:
            self.redis.start()
            with self.receiver:
                # Subscribed before alerting starts, so the receiver sees every first firing.
                self.services["ingest"].start()
                self._subscribe()
                for name in ("aggregator", "alerting", "exporter"):
                    self.services[name].start()
                yield self
        finally:
            for service in reversed(self.services.values()):
                service.stop()
            self.redis.stop()

    def _write_tokens(self) -> Path:
        issued = [
            IssuedToken(f"{city}-soak", "city", city, token)
            for city, token in self.city_tokens.items()
        ]
        issued.append(IssuedToken("soak-admin", "admin", None, self.admin_token))
        path = self.directory / "tokens.yaml"
        path.write_text(tokens_yaml(issued))
        return path

    def _subscribe(self) -> None:
        response = httpx.post(
            f"{self.api_url}/v1/subscriptions",
            json={"url": self.receiver.url, "secret": WEBHOOK_SECRET, "send_resolved": True},
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=10,
        )
        if response.status_code != 201:
            raise RuntimeError(
                f"subscribing the receiver failed: {response.status_code} {response.text}"
            )

    # Faults ---------------------------------------------------------------------------------

    def kill_and_restart(self, name: str) -> None:
        service = self.services[name]
        with self._restarting:
            service.kill()
            service.stop()  # closes its log file; the process is gone already
            _pause(self.rng)
            service.start()

    def restart_redis(self) -> None:
        assert isinstance(self.redis, RedisServer)
        with self._restarting:
            self.redis.stop()  # SIGTERM: Redis fsyncs the AOF and exits
            _pause(self.rng)
            _wait_port_free(self.redis.port)
            self.redis.start()

    def kill_primary(self) -> None:
        """kill -9 of the primary; once the replica is promoted, the killed node starts again
        as its replica (what a supervisor or a StatefulSet would do), so that the next writes
        have a replica to confirm them."""
        assert isinstance(self.redis, SentinelRedis)
        with self._restarting:
            killed, promoted_s = self.redis.kill_primary()
            _wait_port_free(killed.port)
            rejoined_s = self.redis.rejoin(killed)
            self.failovers.append(Failover(killed.port, promoted_s, rejoined_s))

    def revive_exited(self) -> None:
        """Restart any service that exited without being killed by the soak."""
        with self._restarting:
            for name, service in self.services.items():
                if service.process is not None and service.process.poll() is not None:
                    self.unexpected_exits[name] = self.unexpected_exits.get(name, 0) + 1
                    service.stop()
                    service.start()


def _pause(rng: random.Random) -> None:
    time.sleep(rng.uniform(0.1, 1.0))


def _wait_port_free(port: int) -> None:
    for _ in range(100):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                time.sleep(0.05)
                continue
            return


def _redis_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError("redis-server is not installed (apt: see .ci/run)")
    return path
