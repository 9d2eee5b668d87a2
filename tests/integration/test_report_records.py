"""Report records on a real redis-server, in process: the upgrade that scopes pre-v2 records to
their city, the scripts meeting an old record, and the aggregator's rejections (ceiling, count)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

import redis
from redis.asyncio import Redis

from shared import names
from shared.domain.state import ReportKind
from shared.store.reports import ReportApplier, ReportStore, upgrade_report_records
from shared.wire import ReportEnvelope, Site, SitesReport, encode_submission
from tests.support import sites as stored_sites

RECEIVED = datetime(2024, 7, 15, 4, 0, tzinfo=UTC)
CITIES = ("jinan", "qingdao", "zibo")


def old_record(report_id: str, city: str, n: int = 0, **fields: str) -> dict[str, str]:
    """A record as Pacer before v2 stored it at ``pacer:report:<id>``."""
    return {
        "report_id": report_id,
        "city": city,
        "kind": "5g-sites",
        "status": "applied",
        "received_at": datetime.fromtimestamp(RECEIVED.timestamp() + n, UTC).isoformat(),
        "fingerprint": f"fp-{report_id}",
        "entry_id": f"{n}-0",
    } | fields


def envelope(city: str, report_id: str, *site_ids: str) -> tuple[ReportEnvelope, str]:
    report = SitesReport(
        report_id=report_id,
        period="2024-07",
        as_of=date(2024, 7, 10),
        sites=[
            Site(
                site_id=s,
                operator="china_mobile",
                status="in_service",
                commissioned_on=date(2024, 7, 1),
                lat=36.65,
                lon=117.12,
            )
            for s in site_ids
        ],
    )
    payload, fingerprint = encode_submission(city, ReportKind.SITES, report)
    return ReportEnvelope(report_id, city, ReportKind.SITES, RECEIVED, payload), fingerprint


async def accept_and_apply(
    store: Redis, applier: ReportApplier, city: str, report_id: str, *site_ids: str
) -> str:
    """The ingest accepts the report, then the aggregator applies its entry; the outcome."""
    report, fingerprint = envelope(city, report_id, *site_ids)
    assert (await ReportStore(store).accept(report, fingerprint, site_ids)).result == "accepted"
    [(entry_id, _)] = await store.xrevrange(names.REPORTS_STREAM, count=1)
    return (await applier.apply(report, entry_id, RECEIVED)).result


async def test_the_upgrade_moves_every_old_record_under_its_city_once_even_when_run_twice_at_once(
    redis_client: redis.Redis, store: Redis
) -> None:
    pipe = redis_client.pipeline()
    for n in range(1200):  # more than two of the upgrade's batches
        city = CITIES[n % 3]
        pipe.hset(names.legacy_report_key(f"r-{n:04d}"), mapping=old_record(f"r-{n:04d}", city, n))
    pipe.execute()
    # an id the city already holds under the new key (an older ingest ran beside a newer one)
    redis_client.hset(names.legacy_report_key("taken"), mapping=old_record("taken", "jinan"))
    redis_client.hset(names.report_key("jinan", "taken"), mapping=old_record("taken", "jinan"))
    # what an older aggregator wrote for a report it never had a record of: no city
    redis_client.hset(names.legacy_report_key("orphan"), mapping={"status": "applied"})

    first, second = [
        (r.moved, r.kept, r.unreadable)
        for r in await asyncio.gather(upgrade_report_records(store), upgrade_report_records(store))
    ]

    assert first[0] + second[0] == 1200
    assert first[1] + second[1] >= 1 and first[2] + second[2] >= 1
    assert sorted(redis_client.keys(names.LEGACY_REPORT_PATTERN)) == [
        names.legacy_report_key("orphan"),
        names.legacy_report_key("taken"),
    ]
    for city in CITIES:
        assert redis_client.zcard(names.city_reports_key(city)) == 400
    assert redis_client.hgetall(names.report_key("zibo", "r-0005")) == old_record(
        "r-0005", "zibo", 5
    )
    score = redis_client.zscore(names.city_reports_key("zibo"), "r-0005")
    assert score == RECEIVED.timestamp() + 5
    again = await upgrade_report_records(store)
    assert (again.moved, again.kept, again.unreadable) == (0, 1, 1)


async def test_an_old_record_resubmitted_by_its_city_is_a_duplicate_and_moves_under_the_city(
    redis_client: redis.Redis, store: Redis
) -> None:
    report, fingerprint = envelope("jinan", "jinan-5g-2024-06", "JN-1")
    redis_client.hset(
        names.legacy_report_key("jinan-5g-2024-06"),
        mapping=old_record("jinan-5g-2024-06", "jinan", fingerprint=fingerprint),
    )
    qingdao, qingdao_fingerprint = envelope("qingdao", "jinan-5g-2024-06", "QD-1")

    reports = ReportStore(store)
    other = await reports.accept(qingdao, qingdao_fingerprint, ["QD-1"])
    own = await reports.accept(report, fingerprint, ["JN-1"])

    # Qingdao's id is its own; Jinan's old record answers Jinan's retry
    assert (other.result, own.result) == ("accepted", "duplicate")
    assert not redis_client.exists(names.legacy_report_key("jinan-5g-2024-06"))
    assert redis_client.hget(names.report_key("jinan", "jinan-5g-2024-06"), "status") == "applied"
    assert redis_client.zrange(names.city_reports_key("jinan"), 0, -1) == ["jinan-5g-2024-06"]
    assert redis_client.xlen(names.REPORTS_STREAM) == 1  # Qingdao's only


async def test_the_aggregator_moves_an_old_record_whose_report_it_applies(
    redis_client: redis.Redis, store: Redis
) -> None:
    """Accepted by an older ingest (record at the old key, entry on the stream), applied by this
    aggregator: the record moves under its city and says applied."""
    report, fingerprint = envelope("zibo", "zb-1", "ZB-1")
    entry_id = redis_client.xadd(names.REPORTS_STREAM, report.fields())  # type: ignore[arg-type]
    redis_client.hset(
        names.legacy_report_key("zb-1"),
        mapping=old_record("zb-1", "zibo", status="accepted", fingerprint=fingerprint),
    )

    outcome = await ReportApplier(store).apply(report, entry_id, RECEIVED)

    assert outcome.result == "applied"
    assert not redis_client.exists(names.legacy_report_key("zb-1"))
    record = redis_client.hgetall(names.report_key("zibo", "zb-1"))
    assert (record["status"], record["created"]) == ("applied", "1")
    assert redis_client.zcard(names.city_reports_key("zibo")) == 1


async def test_a_report_that_would_take_its_city_past_the_ceiling_when_applied_is_rejected(
    redis_client: redis.Redis, store: Redis
) -> None:
    """Both accepted while the city held nothing; applied in turn, the second would make 4 sites
    of a city that may hold 3: rejected whole, counted, and its month not reported."""
    applier = ReportApplier(store, max_sites_per_city=3)

    first = await accept_and_apply(store, applier, "jinan", "a", "JN-1", "JN-2")
    second = await accept_and_apply(store, applier, "jinan", "b", "JN-1", "JN-3", "JN-4")

    assert (first, second) == ("applied", "rejected")
    record = redis_client.hgetall(names.report_key("jinan", "b"))
    assert record["status"] == "rejected"
    assert json.loads(record["errors"]) == [
        {
            "loc": ["body", "sites"],
            "code": "site_limit_exceeded",
            "new": 2,
            "registered": 2,
            "limit": 3,
        }
    ]
    assert redis_client.hgetall(names.REPORTS_REJECTED_KEY) == {
        "jinan|5g-sites|site_limit_exceeded": "1"
    }
    assert stored_sites.registered(redis_client, "jinan") == 2
    assert redis_client.smembers(names.city_periods_key("jinan", "5g-sites")) == {"2024-07"}
