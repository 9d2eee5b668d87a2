"""A read computed once and shared by every caller for a short while.

500 concurrent ``GET /v1/progress`` each read every city from Redis and built the same document:
each held one of the client's 100 pool connections while doing so, and up to 255 waited past the
pool's timeout and answered 503 (issue 11). Behind a ``SharedRead`` they await one computation.

The rules, each with its reason:

- An answer never reflects a read that began more than ``max_age_s`` before the caller asked:
  a result is reused, and a computation in flight joined, only while that holds. So a reader can
  trust a value up to ``max_age_s`` old, never older, however slow the computation.
- A failure is shared by the callers waiting on that computation (they asked at the same moment)
  but never kept: the next caller starts a new computation.
- The computation runs in a task of its own: a caller that gives up (its request cancelled by a
  deadline) neither cancels it for the others nor leaves a Redis connection half used.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class _Flight(Generic[T]):
    started: float
    task: asyncio.Task[T]


class SharedRead(Generic[T]):
    def __init__(
        self,
        compute: Callable[[], Coroutine[Any, Any, T]],
        max_age_s: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._compute = compute
        self._max_age_s = max_age_s
        self._monotonic = monotonic
        self._latest: tuple[float, T] | None = None
        """When the newest successful computation started, and its result."""
        self._flight: _Flight[T] | None = None
        self._running: set[asyncio.Task[T]] = set()
        """Strong references: the event loop keeps only weak ones to tasks."""
        self.computations = 0
        """How many computations were started (for tests and figures)."""

    async def get(self) -> T:
        """The result of a computation that began at most ``max_age_s`` before this call."""
        oldest_allowed = self._monotonic() - self._max_age_s
        if self._latest is not None and self._latest[0] >= oldest_allowed:
            return self._latest[1]
        flight = self._flight
        if flight is None or flight.started < oldest_allowed:
            flight = self._take_off()
        return await asyncio.shield(flight.task)

    def _take_off(self) -> _Flight[T]:
        started = self._monotonic()
        task = asyncio.create_task(self._compute())
        flight = _Flight(started, task)
        self._flight = flight
        self._running.add(task)
        self.computations += 1
        task.add_done_callback(lambda done: self._landed(flight, done))
        return flight

    def _landed(self, flight: _Flight[T], task: asyncio.Task[T]) -> None:
        self._running.discard(task)
        if self._flight is flight:
            self._flight = None
        if task.cancelled():
            return
        if task.exception() is not None:  # retrieved here, so none is logged as never retrieved
            return
        if self._latest is None or flight.started >= self._latest[0]:
            self._latest = (flight.started, task.result())
