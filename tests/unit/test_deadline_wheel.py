"""The request deadlines' wheel: ``asyncio.timeout``'s semantics, one timer per loop."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.ingest.deadlines import DeadlineWheel


async def test_a_kept_deadline_cancels_its_block_with_timeout_error_at_most_a_tick_late() -> None:
    wheel = DeadlineWheel(tick_s=0.02)
    deadline = asyncio.timeout(None)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with deadline:
            wheel.keep(deadline, 0.1)
            await asyncio.sleep(5)
    assert deadline.expired()
    assert 0.1 <= time.monotonic() - started < 0.1 + 0.02 + 0.1  # a tick, and a loop's turn


async def test_a_moved_deadline_counts_from_when_it_moved_and_a_dropped_one_never_passes() -> None:
    wheel = DeadlineWheel(tick_s=0.02)
    moved, dropped = asyncio.timeout(None), asyncio.timeout(None)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with moved:
            wheel.keep(moved, 0.05)
            await asyncio.sleep(0.03)
            wheel.keep(moved, 0.2)  # the body's end: the handler's own time
            await asyncio.sleep(5)
    assert time.monotonic() - started >= 0.23
    async with dropped:
        wheel.keep(dropped, 0.05)
        wheel.drop(dropped)
        await asyncio.sleep(0.15)
    assert not dropped.expired()


async def test_the_blocks_own_timeout_error_is_not_the_deadlines() -> None:
    wheel = DeadlineWheel(tick_s=0.02)
    deadline = asyncio.timeout(None)
    with pytest.raises(TimeoutError, match="its own"):
        async with deadline:
            wheel.keep(deadline, 10)
            raise TimeoutError("its own")
    assert not deadline.expired()


def test_the_wheel_keeps_time_on_each_new_event_loop() -> None:
    """An app built once may be served on a later loop: the first loop's timer is gone."""
    wheel = DeadlineWheel(tick_s=0.02)

    async def one_deadline() -> bool:
        deadline = asyncio.timeout(None)
        try:
            async with deadline:
                wheel.keep(deadline, 0.05)
                await asyncio.sleep(1)
        except TimeoutError:
            return deadline.expired()
        return False

    async def left_pending() -> None:
        deadline = asyncio.timeout(None)
        async with deadline:
            wheel.keep(deadline, 100)  # the loop ends with the wheel's timer still armed

    assert asyncio.run(one_deadline())
    asyncio.run(left_pending())
    assert asyncio.run(one_deadline())
