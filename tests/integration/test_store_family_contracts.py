"""The fakes of ``tests/support/fakes.py`` against the real families: the same assertions, run on
each fake and on its family over a real redis-server. A unit test on a fake says something about
Pacer only as long as these pass."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio import Redis

from shared import names
from shared.domain.alert_lifecycle import ActiveAlert, Event, Notification
from shared.domain.alerts import Alert
from shared.domain.state import CityState
from shared.store import state as state_module
from shared.store.alerts import AlertLedger, RedisAlertLedger
from shared.store.reports import ReportApplier
from shared.store.sites import RedisSites
from shared.store.state import CityStateReader, RedisCityStates, read_city_states
from shared.wire import ReportEnvelope
from shared.wire_alerts import GroupNotified, decode_alerts_entry
from tests.support.applied import gigabit_envelope, site, sites_envelope
from tests.support.fakes import FakeAlertLedger, FakeCityStates, reported_nothing

AT = datetime(2024, 10, 15, 4, 0, tzinfo=UTC)
JINAN = Alert(
    {"alertname": "FiveGBehindPlan", "severity": "warning", "program": "5g-2025", "city": "jinan"},
    {"summary": "Jinan is behind plan", "actual": "120"},
)
QINGDAO = Alert(
    {"alertname": "FiveGBehindPlan", "severity": "warning", "program": "5g-2025", "city": "qingdao"}
)
OVERDUE = Alert(
    {"alertname": "ReportOverdue", "severity": "warning", "city": "jinan", "kind": "5g-sites"}
)

Entries = Callable[[], Awaitable[list[list[tuple[Event, str]]]]]
"""What the alerts stream got: per entry (group), its notifications' events and fingerprints."""


def fired(alert: Alert, at: datetime) -> Notification:
    return Notification(Event.FIRING, alert, at, None, at)


@pytest.fixture(params=["fake", "redis"])
def ledger(request: pytest.FixtureRequest, store: Redis) -> tuple[AlertLedger, Entries]:
    if request.param == "fake":
        fake = FakeAlertLedger()

        async def fake_entries() -> list[list[tuple[Event, str]]]:
            return [[(n.event, n.alert.fingerprint) for n in group] for group in fake.entries]

        return fake, fake_entries

    async def stream_entries() -> list[list[tuple[Event, str]]]:
        found = []
        for _, fields in await store.xrange(names.ALERTS_STREAM):
            entry = decode_alerts_entry(fields)
            assert isinstance(entry, GroupNotified)
            found.append([(n.event, n.alert.fingerprint) for n in entry.notifications])
        return found

    return RedisAlertLedger(store), stream_entries


async def test_a_ledger_starts_empty_and_hands_the_next_step_exactly_what_it_stored(
    ledger: tuple[AlertLedger, Entries],
) -> None:
    subject, _ = ledger
    seen: list[dict[str, ActiveAlert]] = []
    first = {
        JINAN.fingerprint: ActiveAlert(JINAN, AT, AT),
        OVERDUE.fingerprint: ActiveAlert(OVERDUE, AT - timedelta(days=2), AT, absent_since=AT),
    }

    def store_first(active: dict[str, ActiveAlert]) -> tuple[dict[str, ActiveAlert], list]:
        seen.append(active)
        return first, []

    def look(active: dict[str, ActiveAlert]) -> tuple[dict[str, ActiveAlert], list]:
        seen.append(active)
        return active, []

    assert (await subject.transition(store_first)).active == first
    await subject.transition(look)
    assert seen == [{}, first]


async def test_a_ledger_drops_what_the_step_leaves_out_and_keeps_the_rest(
    ledger: tuple[AlertLedger, Entries],
) -> None:
    subject, _ = ledger
    both = {a.fingerprint: ActiveAlert(a, AT, AT) for a in (JINAN, QINGDAO)}
    await subject.transition(lambda _: (both, []))
    only_qingdao = {QINGDAO.fingerprint: both[QINGDAO.fingerprint]}
    after = await subject.transition(lambda _: (only_qingdao, []))
    assert after.active == only_qingdao
    assert (await subject.transition(lambda active: (active, []))).active == only_qingdao


async def test_a_ledger_appends_one_entry_per_group_with_its_notifications(
    ledger: tuple[AlertLedger, Entries],
) -> None:
    subject, entries = ledger
    notifications = [fired(JINAN, AT), fired(QINGDAO, AT), fired(OVERDUE, AT)]
    active = {n.alert.fingerprint: ActiveAlert(n.alert, AT, AT) for n in notifications}
    done = await subject.transition(lambda _: (active, notifications))
    assert done.notifications == notifications
    got = await entries()
    # groups by alertname and program: both cities' FiveGBehindPlan in one entry, in given order
    assert got == [
        [(Event.FIRING, JINAN.fingerprint), (Event.FIRING, QINGDAO.fingerprint)],
        [(Event.FIRING, OVERDUE.fingerprint)],
    ]
    await subject.transition(lambda current: (current, []))
    assert len(await entries()) == 2  # a transition without notifications appends nothing


@pytest.fixture(params=["fake", "redis"])
def states(request: pytest.FixtureRequest, store: Redis) -> CityStateReader:
    return FakeCityStates() if request.param == "fake" else RedisCityStates(store)


async def test_a_city_that_reported_nothing_reads_as_an_empty_state(
    states: CityStateReader,
) -> None:
    read = await states.read(["jinan", "qingdao"])
    assert read == {"jinan": reported_nothing("jinan"), "qingdao": reported_nothing("qingdao")}
    assert all(
        state.sites_between(date(2024, 1, 1), date(2025, 12, 31)) == 0 for state in read.values()
    )


# The real reader's own promise: it reads again only what changed, and misses no change. --------


async def apply(store: Redis, envelope: ReportEnvelope) -> None:
    """As the aggregator applies an entry: on the stream, delivered to its group, applied."""
    entry_id = str(await store.xadd(names.REPORTS_STREAM, envelope.fields()))  # type: ignore[arg-type]
    await store.xreadgroup(names.AGGREGATOR_GROUP, "test", {names.REPORTS_STREAM: ">"}, count=1)
    assert (await ReportApplier(store).apply(envelope, entry_id, AT)).result == "applied"


def june_sites(report_id: str, *site_ids: str) -> ReportEnvelope:
    sites = [site(site_id, "2024-06-03") for site_id in site_ids]
    return sites_envelope(
        report_id,
        "jinan",
        period="2024-06",
        as_of="2024-06-28",
        received="2024-07-01T10:00:00+08:00",
        sites=sites,
    )


async def test_the_reader_sees_every_applied_report_and_released_site_at_its_next_read(
    store: Redis,
) -> None:
    reader = RedisCityStates(store)
    cities = ["jinan", "qingdao"]
    assert (await reader.read(cities))["jinan"].sites_by_day == {}
    await apply(store, june_sites("r1", "JN-1", "JN-2"))
    assert (await reader.read(cities))["jinan"].sites_by_day == {date(2024, 6, 3): 2}
    await apply(
        store,
        gigabit_envelope(
            "g1",
            "jinan",
            period="2024-06",
            as_of="2024-06-28",
            received="2024-07-01T10:00:00+08:00",
            indicators={"user_5g_share_pct": 31.0},
        ),
    )
    assert "user_5g_share_pct" in (await reader.read(cities))["jinan"].indicators
    assert await RedisSites(store).release("JN-1") is not None
    assert (await reader.read(cities))["jinan"].sites_by_day == {date(2024, 6, 3): 1}
    assert (await reader.read(cities)) == await read_city_states(store, cities)


async def test_the_reader_reads_again_only_the_cities_whose_generation_moved(
    store: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = RedisCityStates(store)
    cities = ["jinan", "qingdao", "zibo"]
    await reader.read(cities)
    asked: list[list[str]] = []
    real = state_module.read_city_states

    async def counting(redis: Redis, wanted: list[str], **options: object) -> dict[str, CityState]:
        asked.append(list(wanted))
        return await real(redis, wanted, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(state_module, "read_city_states", counting)
    await reader.read(cities)
    await apply(store, june_sites("r1", "JN-1"))
    await reader.read(cities)
    assert asked == [["jinan"]]  # nothing for the read with no change, then only Jinan


async def test_a_change_made_without_its_generation_is_seen_within_the_full_read_interval(
    store: Redis,
) -> None:
    clock = [0.0]
    reader = RedisCityStates(store, full_read_every_s=60, monotonic=lambda: clock[0])
    await reader.read(["jinan"])
    await store.hset(names.city_site_days_key("jinan"), "2024-06-03", 5)  # a hand edit
    clock[0] = 30.0
    assert (await reader.read(["jinan"]))["jinan"].sites_by_day == {}
    clock[0] = 60.0
    assert (await reader.read(["jinan"]))["jinan"].sites_by_day == {date(2024, 6, 3): 5}
