"""The fault injector: crashes and restarts at seeded random moments while the load runs.

On one Redis, three kinds: kill -9 of the aggregator and of the alerting service (each restarted
after a moment, as a supervisor would), and a graceful restart of Redis (SIGTERM, then the same
port and data directory; the AOF brings everything back). A kill -9 of a lone Redis loses up to
the last second of writes (appendfsync everysec): that bound is what the separate durability
test checks, so that soak, which asserts that nothing is lost, restarts Redis only gracefully.

On Redis with Sentinel (``--sentinel``) the Redis fault is a kill -9 of the primary: the
sentinels promote the replica, and the killed node rejoins as the new primary's replica.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

MIN_SPACING_S = 3.0


class Fault(StrEnum):
    AGGREGATOR_KILL = "aggregator_kill9"
    ALERTING_KILL = "alerting_kill9"
    REDIS_RESTART = "redis_restart"
    PRIMARY_KILL = "redis_primary_kill9"


SINGLE_REDIS_FAULTS = (Fault.AGGREGATOR_KILL, Fault.ALERTING_KILL, Fault.REDIS_RESTART)
SENTINEL_FAULTS = (Fault.AGGREGATOR_KILL, Fault.ALERTING_KILL, Fault.PRIMARY_KILL)


@dataclass(frozen=True)
class InjectedFault:
    kind: Fault
    at_s: float
    """Seconds since the load started."""
    recovery_s: float
    """From the fault until the process answered /readyz (or PING) again."""


def plan_faults(
    rng: random.Random,
    duration_s: float,
    mean_gap_s: float,
    forced: bool,
    kinds: Sequence[Fault] = SINGLE_REDIS_FAULTS,
    forced_from: float = 0.15,
) -> list[tuple[float, Fault]]:
    """When each fault of ``kinds`` strikes (seconds since the load started), in order.

    Random faults come with exponential gaps (mean ``mean_gap_s``) from 5 % to 80 % of the run,
    so the last one recovers under load; their kinds go in seeded rounds of one each. ``forced``
    adds one of each kind (in a seeded order, near ``forced_from``, then 25 % of the run apart:
    15 %, 40 % and 65 % by default), so a short run still sees every kind. A random fault never
    comes within ``MIN_SPACING_S`` of another.
    """
    plan: list[tuple[float, Fault]] = []
    if forced:
        shuffled = list(kinds)
        rng.shuffle(shuffled)
        for index, kind in enumerate(shuffled):
            at = duration_s * (forced_from + 0.25 * index) + rng.uniform(0, duration_s * 0.05)
            plan.append((at, kind))
    kinds_in_turn: list[Fault] = []
    at = duration_s * 0.05
    while (at := at + rng.expovariate(1 / mean_gap_s)) <= duration_s * 0.8:
        if all(abs(at - other) >= MIN_SPACING_S for other, _ in plan):
            if not kinds_in_turn:  # each kind once per round, in a seeded order: no kind starves
                kinds_in_turn = rng.sample(list(kinds), k=len(kinds))
            plan.append((at, kinds_in_turn.pop()))
    return sorted(plan)


@dataclass
class ChaosMonkey:
    """Runs the plan; each action is blocking (process start, readiness wait), so it runs in a
    thread while the clients keep the event loop busy."""

    actions: dict[Fault, Callable[[], None]]
    rng: random.Random
    injected: list[InjectedFault] = field(default_factory=list)

    async def run(
        self, plan: list[tuple[float, Fault]], started_at: float, stop: asyncio.Event
    ) -> None:
        for at, kind in plan:
            if await _wait_until(started_at + at, stop):
                return
            begun = time.monotonic()
            await asyncio.to_thread(self.actions[kind])
            self.injected.append(
                InjectedFault(
                    kind, round(begun - started_at, 2), round(time.monotonic() - begun, 2)
                )
            )

    def counts(self) -> dict[str, int]:
        return {str(kind): sum(1 for f in self.injected if f.kind is kind) for kind in self.actions}


async def _wait_until(moment: float, stop: asyncio.Event) -> bool:
    """Sleep until ``moment`` (monotonic); True if ``stop`` was set first."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, moment - time.monotonic()))
    except TimeoutError:
        return False
    return True
