"""A backlog of progress events is worked off by shared evaluations, not one evaluation each.

Found by the soak (tests/soak): handled one at a time, each event cost a full evaluation and the
alerting group fell ever further behind a sustained ingest.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import redis

from shared import names
from shared.domain.state import ReportKind
from shared.wire import ProgressEvent
from tests.support.processes import Service, wait_until

EVENTS = 400


def _alerting_caught_up(client: redis.Redis) -> bool:
    [group] = [g for g in client.xinfo_groups(names.PROGRESS_STREAM) if g["name"] == "alerting"]
    return int(group["pending"]) == 0 and group["lag"] == 0


def _evaluations(client: redis.Redis) -> int:
    """Each evaluation records its outcome in one WATCH/MULTI transaction."""
    stats: dict[str, Any] = client.info("commandstats")
    return int(stats.get("cmdstat_watch", {}).get("calls", 0))


@pytest.mark.slow
def test_a_backlog_of_progress_events_shares_evaluations_and_is_worked_off(
    redis_client: redis.Redis,
    service_env: dict[str, str],
    make_service: Callable[..., Service],
) -> None:
    applied_at = datetime.fromisoformat("2024-07-15T11:00:00+08:00")
    for index in range(EVENTS):
        event = ProgressEvent(f"r-{index}", "jinan", ReportKind.SITES, applied_at)
        redis_client.xadd(names.PROGRESS_STREAM, event.fields())  # type: ignore[arg-type]
    redis_client.config_resetstat()

    make_service("alerting", service_env | {"PACER_EVAL_INTERVAL": "3600"})

    wait_until(lambda: _alerting_caught_up(redis_client), timeout=60, interval=0.2)
    assert 0 < _evaluations(redis_client) <= EVENTS // 2
