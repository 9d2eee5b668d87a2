"""The apply script on reports of thousands of sites, on a real redis-server: it reads and writes
in batches, so these pin down that batching changes no count
(shared/store/reports/apply_scripts.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from shared import names
from shared.domain.state import ReportKind
from shared.store.groups import ensure_groups
from shared.store.reports import Outcome, ReportApplier
from shared.wire import ReportEnvelope
from tests.support import sites as stored_sites
from tests.support.processes import RedisServer
from tests.support.reports import site, sites_report

NOW = datetime(2024, 7, 15, 4, tzinfo=UTC)


@pytest.fixture
def apply(redis_server: RedisServer, redis_client: redis.Redis) -> Iterator[Any]:
    """Apply one report body for jinan as stream entry ``<n>-0``, as the aggregator does."""
    entries = iter(range(1, 1000))

    def run(report_id: str, body: dict[str, Any]) -> Outcome:
        async def go() -> Outcome:
            client = aioredis.Redis(port=redis_server.port, decode_responses=True)
            try:
                await ensure_groups(client)
                envelope = ReportEnvelope(
                    report_id, "jinan", ReportKind.SITES, NOW, json.dumps(body)
                )
                return await ReportApplier(client).apply(envelope, f"{next(entries)}-0", NOW)
            finally:
                await client.aclose()

        return asyncio.run(go())

    yield run


def days(redis_client: redis.Redis) -> dict[str, str]:
    return dict(redis_client.hgetall(names.city_site_days_key("jinan")))


def test_a_report_of_2500_sites_creates_each_once_across_batches(
    apply: Any, redis_client: redis.Redis
) -> None:
    sites = [site(f"JN-{n:05d}", commissioned_on=f"2024-07-0{1 + n % 3}") for n in range(2500)]
    outcome = apply("big-1", sites_report(*sites))
    assert (outcome.result, outcome.created, outcome.updated, outcome.unchanged) == (
        "applied",
        2500,
        0,
        0,
    )
    assert stored_sites.registered(redis_client, "jinan") == 2500
    assert stored_sites.held(redis_client) == 2500
    assert days(redis_client) == {"2024-07-01": "834", "2024-07-02": "833", "2024-07-03": "833"}

    again = apply("big-2", sites_report(*sites, as_of="2024-07-11"))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2500)
    assert days(redis_client) == {"2024-07-01": "834", "2024-07-02": "833", "2024-07-03": "833"}


def test_a_site_listed_twice_in_one_entry_counts_once(
    apply: Any, redis_client: redis.Redis
) -> None:
    outcome = apply("twice", sites_report(site("JN-1"), site("JN-1")))
    assert (outcome.created, outcome.unchanged) == (1, 1)
    assert days(redis_client) == {"2024-07-01": "1"}


def test_moving_and_decommissioning_sites_moves_their_day_counts(
    apply: Any, redis_client: redis.Redis
) -> None:
    apply("first", sites_report(site("JN-1"), site("JN-2"), site("JN-3")))
    later = sites_report(
        site("JN-1", commissioned_on="2024-07-05"),
        site("JN-2", status="decommissioned"),
        site("JN-3", status="decommissioned"),
        as_of="2024-07-12",
    )
    outcome = apply("second", later)
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 3, 0)
    # the emptied day is removed, not left at 0
    assert days(redis_client) == {"2024-07-05": "1"}


def test_a_site_of_another_city_rejects_the_whole_large_report(
    apply: Any, redis_client: redis.Redis
) -> None:
    stored_sites.register_ids(redis_client, "qingdao", "JN-01999")
    sites = [site(f"JN-{n:05d}") for n in range(2500)]
    outcome = apply("taken", sites_report(*sites))
    assert (outcome.result, outcome.errors) == ("rejected", 1)
    [error] = json.loads(str(redis_client.hget(names.report_key("jinan", "taken"), "errors")))
    assert error == {
        "loc": ["body", "sites", 1999, "site_id"],
        "code": "site_registered_elsewhere",
        "site_id": "JN-01999",
        "owner": "qingdao",
    }
    assert stored_sites.registered(redis_client, "jinan") == 0
    assert days(redis_client) == {}
