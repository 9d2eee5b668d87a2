"""``SharedRead``: one computation for every concurrent caller, never older than its max age,
never a kept failure."""

from __future__ import annotations

import asyncio

import pytest

from shared.shared_read import SharedRead


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    """Counts computations; each one waits for ``release`` when ``gate`` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.fail_with: Exception | None = None

    async def compute(self) -> int:
        self.calls += 1
        call = self.calls
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return call


async def test_concurrent_callers_share_one_computation() -> None:
    source = Source()
    source.gate = asyncio.Event()
    read = SharedRead(source.compute, max_age_s=1.0)
    callers = [asyncio.create_task(read.get()) for _ in range(500)]
    await asyncio.sleep(0)
    source.gate.set()
    assert await asyncio.gather(*callers) == [1] * 500
    assert source.calls == 1


async def test_a_result_is_reused_within_its_max_age_and_recomputed_after() -> None:
    source, clock = Source(), Clock()
    read = SharedRead(source.compute, max_age_s=1.0, monotonic=clock)
    assert await read.get() == 1
    clock.now += 1.0
    assert await read.get() == 1
    clock.now += 0.001
    assert await read.get() == 2
    assert read.computations == 2


async def test_a_failure_reaches_its_waiters_and_is_not_kept() -> None:
    source = Source()
    source.gate = asyncio.Event()
    source.fail_with = ConnectionError("Redis went away")
    read = SharedRead(source.compute, max_age_s=60.0)
    waiting = [asyncio.create_task(read.get()) for _ in range(3)]
    await asyncio.sleep(0)
    source.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    source.fail_with = None
    assert await read.get() == 2  # a minute of max age, yet the failure was not reused


async def test_a_caller_that_gives_up_does_not_cancel_the_computation_for_the_others() -> None:
    source = Source()
    source.gate = asyncio.Event()
    read = SharedRead(source.compute, max_age_s=1.0)
    impatient = asyncio.create_task(read.get())
    patient = asyncio.create_task(read.get())
    await asyncio.sleep(0)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    source.gate.set()
    assert await patient == 1
    assert source.calls == 1


async def test_a_computation_older_than_the_max_age_is_not_joined() -> None:
    """A slow computation (Redis paused) must not hand a late caller a read from long before it
    asked: that caller starts its own."""
    source, clock = Source(), Clock()
    source.gate = asyncio.Event()
    read = SharedRead(source.compute, max_age_s=1.0, monotonic=clock)
    early = asyncio.create_task(read.get())
    await asyncio.sleep(0)
    clock.now += 1.5
    late = asyncio.create_task(read.get())
    await asyncio.sleep(0)
    source.gate.set()
    assert (await early, await late) == (1, 2)
    assert await read.get() == 2  # the newer result is the one kept


async def test_an_older_computation_landing_last_does_not_replace_a_newer_result() -> None:
    clock = Clock()
    gates = [asyncio.Event(), asyncio.Event()]
    started = 0

    async def compute() -> int:
        nonlocal started
        started += 1
        mine = started
        await gates[mine - 1].wait()
        return mine

    read = SharedRead(compute, max_age_s=1.0, monotonic=clock)
    first = asyncio.create_task(read.get())
    await asyncio.sleep(0)
    clock.now += 2.0
    second = asyncio.create_task(read.get())
    await asyncio.sleep(0)
    gates[1].set()
    assert await second == 2
    gates[0].set()
    assert await first == 1
    assert await read.get() == 2
