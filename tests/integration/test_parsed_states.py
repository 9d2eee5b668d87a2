"""A reader that reads every city again and again reuses the states of cities that did not
change, and sees every change."""

from __future__ import annotations

from datetime import UTC, date, datetime

from redis.asyncio import Redis

from shared import names
from shared.domain.state import ReportKind
from shared.store.state import ParsedStates, read_city_states


async def test_an_unchanged_city_is_reused_and_a_changed_one_read_anew(store: Redis) -> None:
    await store.hset(names.city_site_days_key("jinan"), mapping={"2024-06-12": 3})
    await store.hset(names.city_site_days_key("qingdao"), mapping={"2024-06-12": 1})
    parsed = ParsedStates()
    first = await read_city_states(store, ["jinan", "qingdao"], parsed=parsed)
    await store.hset(names.city_site_days_key("qingdao"), "2024-06-13", 2)
    second = await read_city_states(store, ["jinan", "qingdao"], parsed=parsed)
    assert second["jinan"] is first["jinan"]
    assert second["qingdao"].sites_by_day == {date(2024, 6, 12): 1, date(2024, 6, 13): 2}
    assert second == await read_city_states(store, ["jinan", "qingdao"])  # as a fresh read


async def test_a_new_last_received_instant_is_seen_though_the_city_keys_did_not_change(
    store: Redis,
) -> None:
    parsed = ParsedStates()
    await read_city_states(store, ["jinan"], parsed=parsed)
    received = datetime(2024, 7, 3, 1, tzinfo=UTC)
    field = names.last_received_field("jinan", ReportKind.SITES)
    await store.hset(names.LAST_RECEIVED_KEY, field, str(received.timestamp()))
    state = (await read_city_states(store, ["jinan"], parsed=parsed))["jinan"]
    assert state.last_received == {ReportKind.SITES: received}


async def test_an_empty_city_reads_as_empty(store: Redis) -> None:
    state = (await read_city_states(store, ["jinan"]))["jinan"]
    assert state.sites_by_day == {} and state.indicators == {} and state.indicator_history == ()
    assert state.reported_periods == {kind: frozenset() for kind in ReportKind}
