"""Redis with Sentinel on loopback, as the HA deployments run it: a primary, a replica and three
``redis-sentinel`` processes, each stopped by its pid.

The sentinels' timeouts are short (``DOWN_AFTER_MS``, ``FAILOVER_TIMEOUT_MS``) so that a
``kill -9`` of the primary is followed by a promoted replica within about three seconds.

With ``replica_lag_s``, every node is reached through a ``LaggingLink`` (its address, announced
to the sentinels and the replicas), whose replication stream runs that far behind, and a kill
of the primary kills its link too: the failure of the primary's host, with the writes its
replica had not received yet.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from tests.support.lagging_link import LaggingLink
from tests.support.processes import RedisServer, free_port, require_binary, stop_process, wait_until

SERVICE_NAME = "pacer"
QUORUM = 2
"""Sentinels that must agree the primary is down before one of them fails it over."""
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


@dataclass
class SentinelProcess:
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self, primary_port: int) -> SentinelProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "sentinel.conf"  # Sentinel rewrites it: its state lives there
        config.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    f"dir {self.directory}",
                    f"logfile {self.directory / 'sentinel.log'}",
                    f"sentinel monitor {SERVICE_NAME} 127.0.0.1 {primary_port} {QUORUM}",
                    f"sentinel down-after-milliseconds {SERVICE_NAME} {DOWN_AFTER_MS}",
                    f"sentinel failover-timeout {SERVICE_NAME} {FAILOVER_TIMEOUT_MS}",
                    f"sentinel parallel-syncs {SERVICE_NAME} 1",
                ]
            )
            + "\n"
        )
        self.process = subprocess.Popen(
            [require_binary("redis-sentinel"), str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: self.ask("PING"), timeout=10)
        return self

    def ask(self, *command: str) -> Any:
        with redis.Redis(port=self.port, socket_timeout=1, decode_responses=True) as client:
            return client.execute_command(*command)

    def master(self) -> dict[str, Any]:
        with redis.Redis(port=self.port, socket_timeout=1, decode_responses=True) as client:
            return dict(client.sentinel_master(SERVICE_NAME))

    def replicas(self) -> list[dict[str, Any]]:
        with redis.Redis(port=self.port, socket_timeout=1, decode_responses=True) as client:
            return list(client.sentinel_slaves(SERVICE_NAME))

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


@dataclass
class SentinelRedis:
    """One primary and one replica (both with AOF, as deployed) and three sentinels."""

    directory: Path
    appendonly: bool = True
    replica_lag_s: float = 0.0
    """0: the nodes are reached directly. Else through a ``LaggingLink`` each."""
    nodes: list[RedisServer] = field(init=False)
    sentinels: list[SentinelProcess] = field(init=False)
    links: dict[int, LaggingLink] = field(init=False)
    """Node port -> the link in front of it (none without ``replica_lag_s``)."""

    def __post_init__(self) -> None:
        self.nodes = [
            RedisServer(self.directory / f"redis-{index}", appendonly=self.appendonly)
            for index in range(2)
        ]
        self.sentinels = [SentinelProcess(self.directory / f"sentinel-{i}") for i in range(3)]
        self.links = {}
        if self.replica_lag_s > 0:
            self.links = {n.port: LaggingLink(n.port, self.replica_lag_s) for n in self.nodes}

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE_NAME}/0"

    def address(self, node: RedisServer) -> int:
        """The port the node is known by: its link's, or its own."""
        link = self.links.get(node.port)
        return link.port if link is not None else node.port

    def start(self) -> SentinelRedis:
        primary, replica = self.nodes
        self._start_node(primary, replica_of=None)
        self._start_node(replica, replica_of=primary)
        wait_until(lambda: _in_sync(replica), timeout=10)
        for sentinel in self.sentinels:
            sentinel.start(self.address(primary))
        wait_until(self._sentinels_agree, timeout=20, interval=0.2)
        return self

    def primary(self) -> RedisServer:
        """The node the sentinels name now."""
        named = self._named_port(self.sentinels[0])
        [node] = [n for n in self.nodes if self.address(n) == named]
        return node

    def kill_primary(self, timeout_s: float = 30) -> tuple[RedisServer, float]:
        """``kill -9`` of the primary (and of its link: its host fails); returns it and the
        seconds until every sentinel names the other node."""
        killed = self.primary()
        started = time.monotonic()
        killed.kill()
        if (link := self.links.get(killed.port)) is not None:
            link.kill()
        gone = self.address(killed)
        wait_until(
            lambda: all(self._named_port(s) != gone for s in self.sentinels),
            timeout=timeout_s,
            interval=0.05,
        )
        return killed, round(time.monotonic() - started, 2)

    def rejoin(self, node: RedisServer, timeout_s: float = 30) -> float:
        """Starts a killed node again as a replica of the current primary (what the
        deployments' start script does) and waits until it is in sync and the sentinels see it
        up; the seconds that took."""
        started = time.monotonic()
        self._start_node(node, replica_of=self.primary())
        wait_until(lambda: _in_sync(node), timeout=timeout_s, interval=0.1)
        wait_until(lambda: self._replica_up(node), timeout=timeout_s, interval=0.2)
        return round(time.monotonic() - started, 2)

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for node in self.nodes:
            node.stop()
        for link in self.links.values():
            link.stop()

    def _start_node(self, node: RedisServer, replica_of: RedisServer | None) -> None:
        args: tuple[str, ...] = ()
        if replica_of is not None:
            args += ("--replicaof", "127.0.0.1", str(self.address(replica_of)))
        if (link := self.links.get(node.port)) is not None:
            # Known by its link's address: in the primary's INFO, hence to the sentinels.
            args += ("--replica-announce-ip", "127.0.0.1")
            args += ("--replica-announce-port", str(link.port))
            link.start()
        node.extra_args = args
        node.start()

    def _named_port(self, sentinel: SentinelProcess) -> int:
        _, port = sentinel.ask("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE_NAME)
        return int(port)

    def _sentinels_agree(self) -> bool:
        for sentinel in self.sentinels:
            master = sentinel.master()
            if master["num-other-sentinels"] != len(self.sentinels) - 1:
                return False
            if master["num-slaves"] < 1:
                return False
        return True

    def _replica_up(self, node: RedisServer) -> bool:
        for sentinel in self.sentinels:
            entries = [r for r in sentinel.replicas() if int(r["port"]) == self.address(node)]
            if not entries or entries[0]["is_sdown"] or entries[0]["is_odown"]:
                return False
            if entries[0].get("master-link-status") not in (None, "ok"):
                return False
        return True


def _in_sync(node: RedisServer) -> bool:
    with redis.Redis(port=node.port, socket_timeout=1, decode_responses=True) as client:
        info = client.info("replication")
    return bool(info.get("role") == "slave" and info.get("master_link_status") == "up")
