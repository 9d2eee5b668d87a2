"""The ``GET /v1/progress`` document, computed once for every reader within a second.

Each computation reads every city from Redis (one pipelined round trip) and judges every program
of every city. Done per request, 500 concurrent readers each held a pool connection and 259 of
them waited past the pool's timeout into a 503 (issue 11); shared, they await one computation,
and the JSON is encoded once for all of them.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from services.ingest.progress_view import province_view
from shared.clock import Clock
from shared.domain.targets import Targets
from shared.shared_read import SharedRead
from shared.store.client import StoreClient
from shared.store.state import read_city_states

MAX_AGE_S = 1.0
"""How old a read the document may show: a report applied just now shows within a second."""

_DOCUMENT = TypeAdapter(dict[str, Any])
"""What FastAPI encodes a ``dict[str, Any]`` route's answer with: the bytes stay as they were."""


def shared_province_progress(
    redis: StoreClient, targets: Targets, clock: Clock, max_age_s: float = MAX_AGE_S
) -> SharedRead[bytes]:
    async def compute() -> bytes:
        states = await read_city_states(
            redis, list(targets.cities), judging_up_to=targets.gigabit.deadline
        )
        return _DOCUMENT.dump_json(province_view(targets, states, clock.now()))

    return SharedRead(compute, max_age_s)
