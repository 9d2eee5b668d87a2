"""``pacer migrate`` moves a v1 store's sites into the compact layout and changes nothing else.

The state is made by the real code (reports applied by the aggregator's script, one rejected,
one site released, alerts evaluated), then its sites are written back as v1 Pacer stored them
(``migration.write_v1``: the city hashes and the owner index, v1's version and record text) and
the v2 keys dropped: a v1 store. The migration must then give back every city's progress, every
report record, every active alert and every site's owner, version and facts as they were.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from services.aggregator.handler import HandlerMetrics, ReportHandler
from services.alerting.evaluator import Evaluator
from shared import names
from shared.clock import fixed_clock
from shared.store.reports import ReportApplier, ReportStore
from shared.store.sites import RedisSites, SitesStoreUpgradingError, StoredFacts, scripts
from shared.store.sites.encoding import SiteFacts, v1_record
from shared.store.sites.migration import V1Site, migrate, write_v1
from shared.store.state import read_city_states
from shared.targets import load_targets
from shared.wire import Site, SitesReport
from tests.support.applied import gigabit_envelope, sites_envelope

NOW = datetime.fromisoformat("2025-01-16T10:00:00+08:00")
CITIES = ("jinan", "qingdao", "zibo")
DISTRICTS = ("历下区", "市南区", "张店区", None)
BANDS = ("n41", "n78", None)


def make_site(n: int, city: str, *, status: str = "in_service", lat: float | None = None) -> Site:
    return Site.model_validate(
        {
            "site_id": f"{city[:2].upper()}-{n:05d}",
            "operator": ("china_mobile", "china_unicom", "china_telecom", "china_broadnet")[n % 4],
            "status": status,
            "commissioned_on": date(2024, 1, 1) + timedelta(days=n % 150),
            "lat": lat if lat is not None else round(35.0 + n * 0.000137, 6),
            "lon": round(117.0 + n * 0.000291, 6),
            "district": DISTRICTS[n % len(DISTRICTS)],
            "band": BANDS[n % len(BANDS)],
        }
    )


async def apply(store: Redis, applier: ReportApplier, envelope: Any) -> str:
    entry_id = str(await store.xadd(names.REPORTS_STREAM, envelope.fields()))
    await store.xreadgroup(names.AGGREGATOR_GROUP, "t", {names.REPORTS_STREAM: ">"}, count=1)
    return (await applier.apply(envelope, entry_id, NOW)).result


async def build_state(store: Redis) -> list[str]:
    """Reports of three cities (created, updated, decommissioned, odd coordinates, a rejected
    one, a released site), gigabit readings and the alerts they raise; returns every site id."""
    applier = ReportApplier(store, max_sites_per_city=0)
    ids: list[str] = []
    for number, city in enumerate(CITIES):
        sites = [make_site(n, city) for n in range(300 * (number + 1))]
        sites.append(make_site(9_999, city, lat=36.123456789))  # not 6 decimals: exact form
        ids += [s.site_id for s in sites]
        first = sites_envelope(
            f"{city}-1",
            city,
            period="2024-06",
            as_of="2024-06-30",
            received="2024-07-02T10:00Z",
            sites=sites,
        )
        assert await apply(store, applier, first) == "applied"
        changed = [make_site(n, city, status="decommissioned") for n in range(0, 50)]
        changed += [make_site(n, city, lat=35.5) for n in range(50, 80)]
        second = sites_envelope(
            f"{city}-2",
            city,
            period="2024-07",
            as_of="2024-07-31",
            received="2024-08-02T10:00Z",
            sites=changed,
        )
        assert await apply(store, applier, second) == "applied"
        indicators = {"gigabit_city_household_coverage_pct": 70.0 + number}
        gigabit = gigabit_envelope(
            f"{city}-g",
            city,
            period="2024-07",
            as_of="2024-07-31",
            received="2024-08-03T10:00Z",
            indicators=indicators,
        )
        assert await apply(store, applier, gigabit) == "applied"
    taken = sites_envelope(
        "zibo-taken",
        "zibo",
        period="2024-08",
        as_of="2024-08-31",
        received="2024-09-02T10:00Z",
        sites=[make_site(1, "jinan")],
    )
    assert await apply(store, applier, taken) == "rejected"
    assert await RedisSites(store).release(make_site(2, "qingdao").site_id) is not None
    evaluator = Evaluator.on_store(
        store,
        load_targets(),
        fixed_clock(NOW),
        repeat_interval=timedelta(hours=4),
        resolve_hold=timedelta(0),
    )
    assert (await evaluator.evaluate()).active, "the state must raise some alerts"
    return ids


async def snapshot(store: Redis, site_ids: list[str]) -> dict[str, Any]:
    cities = list(load_targets().cities)
    records = {
        key: await store.hgetall(key) async for key in store.scan_iter(names.report_key("*", "*"))
    }
    return {
        "progress": await read_city_states(store, cities),
        "records": records,
        "alerts": await store.hgetall(names.ACTIVE_ALERTS_KEY),
        "sites": await RedisSites(store).stored(site_ids),
        "held": {city: await RedisSites(store).registered(city) for city in cities},
    }


async def to_v1(store: Redis, held: dict[str, StoredFacts]) -> None:
    """The sites as v1 Pacer stored them, and none of v2's keys."""
    await write_v1(
        store,
        [
            V1Site(site_id, site.owner, site.version, site.facts)
            for site_id, site in held.items()
            if site.facts
        ],
    )
    v2_keys = [
        key
        async for pattern in _v2_patterns()
        async for key in store.scan_iter(pattern)
        if key != names.SITE_OWNER_KEY
    ]
    await store.delete(*v2_keys)


async def _v2_patterns() -> Any:
    for pattern in (
        names.site_bucket_key(0)[:-1] + "[0-9]*",
        names.SITE_CITY_IDS_KEY,
        names.SITES_FORMAT_KEY,
        names.city_site_count_key("*"),
        names.city_site_words_key("*"),
    ):
        yield pattern


async def everything(store: Redis) -> dict[str, Any]:
    """Every key and its content (streams left out: transit, not state)."""
    found: dict[str, Any] = {}
    async for key in store.scan_iter("*"):
        kind = await store.type(key)
        if kind == "hash":
            found[key] = await store.hgetall(key)
        elif kind == "string":
            found[key] = await store.get(key)
        elif kind == "set":
            found[key] = await store.smembers(key)
        elif kind == "zset":
            found[key] = await store.zrange(key, 0, -1, withscores=True)
        elif kind == "list":
            found[key] = await store.lrange(key, 0, -1)
    return found


@pytest.fixture
def pacer_env(service_env: dict[str, str]) -> Iterator[dict[str, str]]:
    yield os.environ | service_env


def run_pacer_migrate(env: dict[str, str]) -> str:
    """``pacer migrate`` as an operator runs it, in its own process."""
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_v1_store_migrated_keeps_every_progress_record_alert_and_site(
    store: Redis, pacer_env: dict[str, str]
) -> None:
    site_ids = await build_state(store)
    before = await snapshot(store, site_ids)
    await to_v1(store, before["sites"])
    family = RedisSites(store)
    assert await family.layout() == "1"
    # v1's own text, as v1_record() and the version of v1's applier made it
    jinan_1 = make_site(100, "jinan")
    stored_v1 = await store.hget(names.city_sites_key("jinan"), jinan_1.site_id)
    assert stored_v1.split("\t", 1)[1] == v1_record(jinan_1)
    assert stored_v1.startswith("2024-06-30/")

    run_pacer_migrate(pacer_env)

    assert await family.layout() == "2"
    after = await snapshot(store, site_ids)
    assert after == before
    assert not await store.exists(names.SITE_OWNER_KEY, names.city_sites_key("jinan"))
    assert not await store.exists(names.SITES_MIGRATION_KEY)

    settled = await everything(store)
    run_pacer_migrate(pacer_env)
    assert await everything(store) == settled


async def test_an_interrupted_migration_refuses_5g_reports_then_resumes_to_the_same_end(
    store: Redis, pacer_env: dict[str, str]
) -> None:
    site_ids = await build_state(store)
    before = await snapshot(store, site_ids)
    await to_v1(store, before["sites"])

    paused = await migrate(store, batch=50, max_batches=3)
    assert paused.outcome == "paused" and 0 < paused.moved <= 3 * 100

    # Half moved: nothing may touch the sites; gigabit reports go on.
    family = RedisSites(store)
    assert await family.layout() == "migrating"
    ingest = ReportStore(store)
    report = SitesReport(period="2024-09", as_of=date(2024, 9, 30), sites=[make_site(100, "jinan")])
    envelope = sites_envelope(
        "jinan-9",
        "jinan",
        period="2024-09",
        as_of="2024-09-30",
        received="2024-10-01T10:00Z",
        sites=report.sites,
    )
    assert (await ingest.accept(envelope, "fp", [make_site(100, "jinan").site_id])).result == (
        "upgrading"
    )
    with pytest.raises(SitesStoreUpgradingError):
        await ingest.check_sites("jinan", [make_site(100, "jinan").site_id])
    with pytest.raises(SitesStoreUpgradingError):
        await family.preview("jinan", report)
    with pytest.raises(SitesStoreUpgradingError):
        await family.release(make_site(100, "jinan").site_id)
    waiting = ReportApplier(store, upgrade_wait_s=0.3)
    entry_id = str(await store.xadd(names.REPORTS_STREAM, envelope.fields()))
    with pytest.raises(SitesStoreUpgradingError):
        await waiting.apply(envelope, entry_id, NOW)
    gigabit = gigabit_envelope(
        "jinan-g9",
        "jinan",
        period="2024-09",
        as_of="2024-09-30",
        received="2024-10-01T10:00Z",
        indicators={"gigabit_city_household_coverage_pct": 75.0},
    )
    assert (await ingest.accept(gigabit, "fp-g", [])).result == "accepted"

    run_pacer_migrate(pacer_env)

    after = await snapshot(store, site_ids)
    assert after["sites"] == before["sites"]
    assert after["held"] == before["held"]
    assert after["alerts"] == before["alerts"]
    # The held report applies now, with v1's rule: site 100 of Jinan is unchanged (same facts).
    outcome = await ReportApplier(store).apply(envelope, entry_id, NOW)
    assert (outcome.result, outcome.created, outcome.updated, outcome.unchanged) == (
        "applied",
        0,
        0,
        1,
    )


async def test_after_migration_reports_update_release_and_preview_as_before(
    store: Redis, pacer_env: dict[str, str]
) -> None:
    site_ids = await build_state(store)
    await to_v1(store, (await snapshot(store, site_ids))["sites"])
    run_pacer_migrate(pacer_env)
    family = RedisSites(store)
    moved = make_site(60, "jinan", lat=35.5)  # as the second report left it
    report = SitesReport(
        period="2024-09",
        as_of=date(2024, 9, 30),
        sites=[moved, make_site(61, "jinan"), make_site(5_000, "jinan")],
    )
    assert (await family.preview("jinan", report)).model_dump() == {
        "created": 1,
        "updated": 1,
        "unchanged": 1,
    }
    envelope = sites_envelope(
        "jinan-9",
        "jinan",
        period="2024-09",
        as_of="2024-09-30",
        received="2024-10-01T10:00Z",
        sites=report.sites,
    )
    assert await apply(store, ReportApplier(store), envelope) == "applied"
    record = await store.hgetall(names.report_key("jinan", "jinan-9"))
    assert (record["created"], record["updated"], record["unchanged"]) == ("1", "1", "1")
    released = await family.release(moved.site_id)
    assert released is not None and released.former_owner == "jinan"
    assert await family.stored([moved.site_id]) == {}


async def test_the_scripts_date_arithmetic_matches_python_for_every_day_to_2100(
    store: Redis,
) -> None:
    days = list(range(0, (date(2100, 12, 31) - date(2019, 1, 1)).days + 1))
    found = await store.eval(scripts.ISO_DAYS, 0, *days)
    assert found == [(date(2019, 1, 1) + timedelta(days=n)).isoformat() for n in days]


async def test_a_5g_report_that_spent_its_attempts_waiting_for_the_migration_is_no_dead_letter(
    store: Redis,
) -> None:
    site_ids = await build_state(store)
    await to_v1(store, (await snapshot(store, site_ids))["sites"])
    envelope = sites_envelope(
        "jinan-9",
        "jinan",
        period="2024-09",
        as_of="2024-09-30",
        received="2024-10-01T10:00Z",
        sites=[make_site(100, "jinan")],
    )
    entry_id = str(await store.xadd(names.REPORTS_STREAM, envelope.fields()))
    handler = ReportHandler(
        applier=ReportApplier(store, upgrade_wait_s=0),
        targets=load_targets(),
        clock=fixed_clock(NOW),
        max_attempts=2,
        metrics=HandlerMetrics.register(CollectorRegistry()),
    )

    async def many() -> int:
        return 9

    with pytest.raises(SitesStoreUpgradingError):
        await handler.handle(entry_id, envelope.fields(), many)
    assert await store.xlen(names.DEAD_LETTER_STREAM) == 0
    assert await migrate(store) is not None
    outcome = await handler.handle(entry_id, envelope.fields(), many)
    assert outcome is None and await store.xlen(names.DEAD_LETTER_STREAM) == 1  # a real failure


async def test_ids_claimed_without_a_record_or_recorded_without_an_owner_are_kept(
    store: Redis,
) -> None:
    # v1 never wrote either (apply and release touched both hashes in one script), but a
    # hand-edited store may hold them: v1 held the first against other cities and counted the
    # second toward its city's ceiling, and so must v2.
    recorded = make_site(1, "jinan")
    version = "2024-06-30/001720000000000-0000000003"
    await write_v1(store, [V1Site(recorded.site_id, "jinan", version, SiteFacts.of(recorded))])
    await store.hset(names.SITE_OWNER_KEY, "QD-CLAIMED", "qingdao")
    await store.hset(
        names.city_sites_key("jinan"), "JN-ORPHAN", f"{version}\t{v1_record(make_site(2, 'jinan'))}"
    )

    assert (await migrate(store, batch=1)).outcome == "finished"

    family = RedisSites(store)
    found = await family.stored([recorded.site_id, "QD-CLAIMED", "JN-ORPHAN"])
    assert found == {
        recorded.site_id: StoredFacts("jinan", version, SiteFacts.of(recorded)),
        "QD-CLAIMED": StoredFacts("qingdao", "", None),
        "JN-ORPHAN": StoredFacts("jinan", version, SiteFacts.of(make_site(2, "jinan"))),
    }
    assert (await family.registered("jinan"), await family.registered("qingdao")) == (2, 1)
