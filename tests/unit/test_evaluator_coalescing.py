"""A burst of evaluation requests shares the evaluations that start after each request."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import timedelta

from services.alerting.evaluator import Evaluation, Evaluator
from shared.clock import system_clock
from shared.targets import load_targets


@dataclass
class CountingEvaluator(Evaluator):
    runs: int = 0

    async def _record(self, current: object, now: object) -> Evaluation:  # type: ignore[override]
        self.runs += 1
        await asyncio.sleep(0.01)
        return Evaluation({}, [])


async def test_requests_waiting_behind_a_running_evaluation_share_the_next_one() -> None:
    evaluator = CountingEvaluator(
        redis=_NoRedis(),  # type: ignore[arg-type]
        targets=load_targets(),
        clock=system_clock(),
        repeat_interval=timedelta(hours=4),
        resolve_hold=timedelta(0),
    )
    await asyncio.gather(*(evaluator.evaluate() for _ in range(20)))
    # the first runs; the 19 that waited behind it share one evaluation that started after them
    assert evaluator.runs == 2
    await evaluator.evaluate()
    assert evaluator.runs == 3  # a later request always gets a fresh evaluation


class _NoRedis:
    """Redis with 16 cities that have reported nothing: just enough for read_city_states."""

    def pipeline(self, transaction: bool = False) -> _NoPipeline:
        return _NoPipeline()

    def register_script(self, script: str) -> _NoScript:
        return _NoScript()


class _NoScript:
    async def __call__(self, keys: list[str], args: list[str], client: _NoPipeline) -> None:
        client.replies.append(json.dumps([[] for _ in keys]))  # a city: one empty list per key


class _NoPipeline:
    def __init__(self) -> None:
        self.replies: list[object] = []

    async def __aenter__(self) -> _NoPipeline:
        return self

    async def __aexit__(self, *_: object) -> None:
        pass

    def hgetall(self, key: str) -> None:
        self.replies.append({})  # the last-received hash

    async def execute(self) -> list[object]:
        return self.replies
