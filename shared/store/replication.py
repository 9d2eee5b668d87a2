"""Acknowledged means replicated (``PACER_REDIS_MIN_REPLICAS``): a write whose outcome Pacer
tells someone (a report's ``202``, a webhook about an alert transition) is followed by
``WAIT <replicas> <timeout>`` on the same connection, and told only when enough replicas hold it.

Redis replicates asynchronously: a primary that dies takes with it what it had not yet sent, and
Sentinel promotes a replica without it. ``WAIT`` blocks until the replicas have acknowledged the
replication stream up to the connection's last write (Redis 7.0: up to its previous command,
whoever wrote); the stream is one ordered log, so that covers every write made before it too. A
replica that confirmed is the one Sentinel promotes (with one replica, the only one; with more,
Sentinel prefers the one that holds the most).

The write and the ``WAIT`` go in one pipeline: one round trip, and the same connection, which
``WAIT`` needs (it counts the acknowledgements of *this* connection's writes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

WAIT_TIMEOUT_MS = 500
"""How long a write waits for its replicas. A healthy replica on the same network acknowledges
within a few milliseconds (a GETACK round trip); waiting longer only holds a request and a pool
connection while the replica is gone or resynchronising, and the caller retries anyway. Capped
at half the client's socket timeout (``connect``), so the answer always comes before the socket
gives up on it."""


@dataclass(frozen=True)
class ReplicaQuorum:
    """How many replicas must hold a write before Pacer tells anyone about it (0: none)."""

    replicas: int = 0
    timeout_ms: int = WAIT_TIMEOUT_MS

    @classmethod
    def for_client(cls, replicas: int, client_timeout_s: float) -> ReplicaQuorum:
        return cls(replicas, min(WAIT_TIMEOUT_MS, int(client_timeout_s * 1000 / 2)))

    @property
    def required(self) -> bool:
        return self.replicas > 0

    def wait(self, pipe: Pipeline) -> None:
        """Queue the ``WAIT`` behind what ``pipe`` already holds."""
        pipe.execute_command("WAIT", self.replicas, self.timeout_ms)

    def met_by(self, acknowledged: object) -> bool:
        return isinstance(acknowledged, int) and acknowledged >= self.replicas


async def run_replicated(
    redis: Redis,
    script: AsyncScript,
    keys: Sequence[str],
    args: Sequence[str | int | float],
    quorum: ReplicaQuorum,
) -> tuple[Any, bool]:
    """Runs ``script``, then ``WAIT``, in one round trip; its result and whether ``quorum``
    holds what the connection wrote (hence everything written before it)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.evalsha(script.sha, len(keys), *keys, *args)
        quorum.wait(pipe)
        result, acknowledged = await pipe.execute(raise_on_error=False)
    if isinstance(result, NoScriptError):
        # A promoted replica has no scripts: Redis 7 replicates a script's effects, not the
        # script. The pipeline's own loading (SCRIPT EXISTS, then SCRIPT LOAD if missing) costs a
        # round trip on every call, so it is the fallback, once per script and failover.
        async with redis.pipeline(transaction=False) as pipe:
            await script(keys=keys, args=args, client=pipe)
            quorum.wait(pipe)
            result, acknowledged = await pipe.execute(raise_on_error=False)
    for answer in (result, acknowledged):
        if isinstance(answer, Exception):
            raise answer
    return result, quorum.met_by(acknowledged)
