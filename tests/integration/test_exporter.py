"""The exporter process against a real redis-server: contract §5's gauges, read at scrape time
(scrapes within ``SCRAPE_MAX_AGE_S`` share one read).

State is written the way the aggregator writes it (entries on the reports stream, delivered to
its group and applied by ``ReportApplier``); the expected numbers are worked out here from the
contract's tables and the reports, not by calling the domain code the exporter uses.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from services.exporter.main import SCRAPE_MAX_AGE_S
from shared import names
from shared.domain.alert_lifecycle import ActiveAlert
from shared.domain.alerts import Alert
from shared.domain.state import ReportKind
from shared.store.connection import connect
from shared.store.groups import ensure_groups
from shared.store.reports import Outcome, ReportApplier
from shared.wire import (
    GigabitReport,
    ReportEnvelope,
    Site,
    SitesReport,
    SiteStatus,
    encode_payload,
)
from shared.wire_alerts import encode_active
from tests.support.metrics import Samples, parse_samples, promtool_check_metrics, value
from tests.support.processes import RedisServer, Service, wait_until

CST = timezone(timedelta(hours=8))  # China Standard Time, no daylight saving
STATUSES = ("no_data", "on_track", "at_risk", "behind", "met", "missed")
THRESHOLDS = {  # contract §1, gigabit-2024; bb_1000m_users is tracked only
    "household_gigabit_coverage_pct": 80,
    "pon_10g_port_share_pct": 25,
    "key_location_5g_reach_pct": 80,
    "bs_5g_per_10k": 12,
    "bb_500m_user_share_pct": 27,
    "user_5g_share_pct": 25,
}
CONTRACT_METRICS = (
    "pacer_5g_sites_in_service",
    "pacer_5g_sites_new",
    "pacer_5g_sites_target_new",
    "pacer_5g_sites_planned_new",
    "pacer_5g_sites_per_10k",
    "pacer_program_attainment_ratio",
    "pacer_program_status",
    "pacer_gigabit_indicator_value",
    "pacer_gigabit_indicator_threshold",
    "pacer_gigabit_indicator_passing",
    "pacer_gigabit_standard_met",
    "pacer_report_last_received_timestamp_seconds",
    "pacer_alerts_firing",
    "pacer_stream_length",
    "pacer_stream_pending_messages",
    "pacer_stream_lag_messages",
    "pacer_dead_letter_messages",
    "pacer_program_judged_as_of_timestamp_seconds",
    "pacer_report_latest_period",
)


COUNTERS = {"pacer_reports_rejected": "counter", "process_cpu_seconds": "counter"}
"""The families that are not gauges (by the parser's family name, without ``_total``)."""


def scrape(service: Service) -> tuple[str, Samples]:
    response = httpx.get(f"{service.url}/metrics", timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    for family in text_string_to_metric_families(response.text):
        assert family.type == COUNTERS.get(family.name, "gauge"), family.name
    return response.text, parse_samples(response.text)


def per_indicator(samples: Samples, name: str, **labels: str) -> dict[str, float]:
    """The family's samples with these labels (and an ``indicator`` label), by indicator."""
    return {
        dict(key)["indicator"]: sample
        for key, sample in samples[name].items()
        if labels.items() <= dict(key).items()
    }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def site(site_id: str, commissioned_on: str, status: SiteStatus = "in_service") -> Site:
    return Site(
        site_id=site_id,
        operator="china_mobile",
        status=status,
        commissioned_on=date.fromisoformat(commissioned_on),
        lat=36.65,
        lon=117.12,
    )


def sites_report(
    report_id: str, city: str, *, period: str, as_of: str, received: str, sites: list[Site]
) -> ReportEnvelope:
    report = SitesReport(
        report_id=report_id, period=period, as_of=date.fromisoformat(as_of), sites=sites
    )
    return ReportEnvelope(report_id, city, ReportKind.SITES, at(received), encode_payload(report))


def gigabit_report(
    report_id: str,
    city: str,
    *,
    period: str,
    as_of: str,
    received: str,
    indicators: dict[str, float],
) -> ReportEnvelope:
    report = GigabitReport(
        report_id=report_id, period=period, as_of=date.fromisoformat(as_of), indicators=indicators
    )
    return ReportEnvelope(report_id, city, ReportKind.GIGABIT, at(received), encode_payload(report))


JINAN_SITES_JUNE = sites_report(
    "jn-sites-2024-06",
    "jinan",
    period="2024-06",
    as_of="2024-06-30",
    received="2024-07-01T09:00:00+08:00",
    sites=[
        site("JN-0001", "2024-02-10"),
        site("JN-0002", "2024-03-05"),
        site("JN-0003", "2024-05-20"),
        site("JN-0004", "2024-06-28"),
        site("JN-0005", "2024-04-01", status="decommissioned"),  # never in service: not counted
        site("JN-0006", "2023-11-30"),  # before the baseline date: already in the baseline
    ],
)
JINAN_SITES_JULY = sites_report(
    "jn-sites-2024-07",
    "jinan",
    period="2024-07",
    as_of="2024-07-10",
    received="2024-07-11T10:00:00+08:00",
    sites=[
        site("JN-0002", "2024-03-05", status="decommissioned"),  # leaves the in-service count
        site("JN-0001", "2024-02-10"),  # reported again: still counted once
        site("JN-0007", "2024-07-08"),
    ],
)
JINAN_NEW_IN_SERVICE = 4  # JN-0001, JN-0003, JN-0004, JN-0007
JINAN_IN_SERVICE = 18128 + JINAN_NEW_IN_SERVICE  # contract §1 baseline + new
JINAN_GIGABIT_JUNE = gigabit_report(
    "jn-gigabit-2024-06",
    "jinan",
    period="2024-06",
    as_of="2024-06-30",
    received="2024-07-05T08:30:00+08:00",
    indicators={
        "household_gigabit_coverage_pct": 85.5,
        "pon_10g_port_share_pct": 25,  # >= 25: passes on the threshold
        "key_location_5g_reach_pct": 80,
        "bs_5g_per_10k": 12,  # > 12: fails on the threshold
        "bb_500m_user_share_pct": 30,
        "bb_1000m_users": 120_000,
        "user_5g_share_pct": 27,
    },
)
JINAN_GIGABIT_LATE_MAY = gigabit_report(  # received last but older as_of: values stay June's
    "jn-gigabit-2024-05",
    "jinan",
    period="2024-05",
    as_of="2024-05-31",
    received="2024-07-12T16:00:00+08:00",
    indicators={"household_gigabit_coverage_pct": 70, "bs_5g_per_10k": 20},
)
QINGDAO_GIGABIT_JUNE = gigabit_report(  # every thresholded indicator passes; none tracked-only
    "qd-gigabit-2024-06",
    "qingdao",
    period="2024-06",
    as_of="2024-06-30",
    received="2024-07-03T11:00:00+08:00",
    indicators={
        "household_gigabit_coverage_pct": 96,
        "pon_10g_port_share_pct": 40,
        "key_location_5g_reach_pct": 95,
        "bs_5g_per_10k": 21.4,
        "bb_500m_user_share_pct": 35,
        "user_5g_share_pct": 60,
    },
)
QINGDAO_CLAIMS_JINAN_SITE = sites_report(  # rejected whole (a business rejection)
    "qd-sites-2024-06",
    "qingdao",
    period="2024-06",
    as_of="2024-06-30",
    received="2024-07-02T09:00:00+08:00",
    sites=[site("QD-0001", "2024-06-01"), site("JN-0003", "2024-05-20")],
)
APPLIED = (
    JINAN_SITES_JUNE,
    JINAN_SITES_JULY,
    JINAN_GIGABIT_JUNE,
    QINGDAO_GIGABIT_JUNE,
    JINAN_GIGABIT_LATE_MAY,
)


@dataclass
class Aggregation:
    """What was written: applied reports, one rejected, one dead-lettered, one left pending, one
    never delivered."""

    reports_stream_length: int
    applied: int


async def _aggregate(redis_url: str, now: datetime) -> Aggregation:
    client = connect(redis_url)
    try:
        await ensure_groups(client)
        applier = ReportApplier(client)

        async def deliver(envelope: ReportEnvelope) -> str:
            entry_id = str(await client.xadd(names.REPORTS_STREAM, envelope.fields()))  # type: ignore[arg-type]
            await client.xreadgroup(  # as the aggregator's consumer would: the entry is now pending
                names.AGGREGATOR_GROUP, "test-consumer", {names.REPORTS_STREAM: ">"}, count=1
            )
            return entry_id

        async def apply(envelope: ReportEnvelope) -> Outcome:
            return await applier.apply(envelope, await deliver(envelope), now)

        for envelope in APPLIED[:2]:
            assert (await apply(envelope)).result == "applied"
        assert (await apply(QINGDAO_CLAIMS_JINAN_SITE)).result == "rejected"
        for envelope in APPLIED[2:]:
            assert (await apply(envelope)).result == "applied"
        poison = await client.xadd(names.REPORTS_STREAM, {"garbage": "x"})
        await client.xreadgroup(
            names.AGGREGATOR_GROUP, "test-consumer", {names.REPORTS_STREAM: ">"}, count=1
        )
        assert await applier.dead_letter(str(poison), {"garbage": "x"}, "gave up", 5) == "dead"
        await deliver(JINAN_GIGABIT_JUNE)  # delivered, never acknowledged: pending
        await client.xadd(names.REPORTS_STREAM, JINAN_GIGABIT_JUNE.fields())  # type: ignore[arg-type]
        return Aggregation(reports_stream_length=len(APPLIED) + 4, applied=len(APPLIED))
    finally:
        await client.aclose()


def linear_share(day_end: datetime, deadline_year: int) -> float:
    """Linear plan from 2024-01-01 00:00 to the end of 31 December of the deadline year (CST)."""
    start = datetime(2024, 1, 1, tzinfo=CST)
    end = datetime(deadline_year + 1, 1, 1, tzinfo=CST)
    return (day_end - start) / (end - start)


# The clock reads 2024-07-15 12:00 (tests/conftest.py). June's reports were due by the end of
# 2024-07-10, so the floor F is 2024-06-30; Jinan's latest 5G report is as of 2024-07-10, so its
# site programmes are judged at the end of that day; its gigabit reports, at 2024-06-30.
JINAN_SITES_JUDGED = datetime(2024, 7, 11, tzinfo=CST)
GIGABIT_JUDGED = datetime(2024, 7, 1, tzinfo=CST)
# The shipped 5g-2025 profile: 0.275 by the end of June, 0.40 by the end of September, linear
# over the 92 days between: the end of 2024-07-10 is 10 of them.
SHARE_5G_2025 = 0.275 + (0.40 - 0.275) * 10 / 92


@pytest.fixture
def now(service_env: dict[str, str]) -> datetime:
    return datetime.fromisoformat(service_env["PACER_CLOCK"].removeprefix("fixed:"))


@pytest.fixture
def exporter(
    redis_client: redis.Redis, service_env: dict[str, str], make_service: Callable[..., Service]
) -> Service:
    """An exporter on the emptied module redis-server."""
    return make_service("exporter", service_env)


@pytest.fixture
def aggregation(redis_client: redis.Redis, redis_server: RedisServer, now: datetime) -> Aggregation:
    """The module redis-server, emptied, then holding the reports above."""
    return asyncio.run(_aggregate(redis_server.url, now))


@pytest.fixture
def scraped(exporter: Service, aggregation: Aggregation) -> tuple[str, Samples]:
    return scrape(exporter)


@pytest.fixture
def samples(scraped: tuple[str, Samples]) -> Samples:
    return scraped[1]


def test_a_scrape_shows_the_state_read_at_most_the_max_age_before(
    exporter: Service, redis_server: RedisServer, now: datetime
) -> None:
    _, before = scrape(exporter)
    assert value(before, "pacer_5g_sites_in_service", city="jinan") == 18128
    asyncio.run(_aggregate(redis_server.url, now))
    time.sleep(SCRAPE_MAX_AGE_S)  # scrapes within it share one read (issue 11)
    _, after = scrape(exporter)
    assert value(after, "pacer_5g_sites_in_service", city="jinan") == JINAN_IN_SERVICE


def test_exports_every_contract_metric_with_its_type_and_promtool_accepts_them(
    scraped: tuple[str, Samples],
) -> None:
    body, samples = scraped
    for name in CONTRACT_METRICS:
        assert f"# TYPE {name} gauge\n" in body, name
    # Reports answered 202 that the aggregator then rejected: Qingdao's claim on a Jinan site.
    # The dead-lettered entry was no report of any city (never answered 202): not counted.
    assert "# TYPE pacer_reports_rejected_total counter\n" in body
    rejected, elsewhere = "pacer_reports_rejected_total", "site_registered_elsewhere"
    assert value(samples, rejected, city="qingdao", kind="5g-sites", code=elsewhere) == 1
    assert value(samples, rejected, city="jinan", kind="5g-sites", code=elsewhere) == 0
    assert sum(samples[rejected].values()) == 1
    help_lines = [line for line in body.splitlines() if line.startswith("# HELP pacer_")]
    assert all(len(line.split(" ", 3)[3]) > 30 for line in help_lines), help_lines
    result = promtool_check_metrics(body)
    assert result.returncode == 0, result.stdout + result.stderr


def test_counts_each_in_service_site_once_from_the_baseline(samples: Samples) -> None:
    # Decommissioned and pre-baseline sites are not counted; the rejected qingdao report added none.
    in_service = "pacer_5g_sites_in_service"
    assert value(samples, in_service, city="jinan") == JINAN_IN_SERVICE
    assert value(samples, in_service, city="qingdao") == 19840
    assert value(samples, in_service, city="zibo") == 9267
    assert len(samples[in_service]) == 16
    assert value(samples, "pacer_5g_sites_per_10k", city="jinan") == pytest.approx(
        JINAN_IN_SERVICE / 9202432 * 10_000
    )
    for program in ("5g-2025", "5g-2027"):
        assert value(samples, "pacer_5g_sites_new", city="jinan", program=program) == 4
        assert value(samples, "pacer_5g_sites_new", city="zibo", program=program) == 0


def test_site_programs_show_target_plan_to_date_attainment_and_status(
    samples: Samples, now: datetime
) -> None:
    target_2025 = 6345  # contract §1 quota
    target_2027 = math.ceil(30 * 9202432 / 10_000) - 18128  # 30 per 10k, less the baseline
    planned_2025 = target_2025 * SHARE_5G_2025  # 1,831.1
    planned_2027 = target_2027 * linear_share(JINAN_SITES_JUDGED, 2027)  # 192 of 1,461 days
    # 4 new sites against either plan is behind; 5g-2027 is judged on the increment too (v2)
    expected = {
        "5g-2025": (target_2025, planned_2025, JINAN_NEW_IN_SERVICE / planned_2025, "behind"),
        "5g-2027": (target_2027, planned_2027, JINAN_NEW_IN_SERVICE / planned_2027, "behind"),
    }
    for program, (target, planned, ratio, status) in expected.items():
        labels = {"city": "jinan", "program": program}
        assert value(samples, "pacer_5g_sites_target_new", **labels) == target
        assert value(samples, "pacer_5g_sites_planned_new", **labels) == pytest.approx(planned)
        assert value(samples, "pacer_program_attainment_ratio", **labels) == pytest.approx(ratio)
        assert value(samples, "pacer_program_status", **labels, status=status) == 1
        judged = value(samples, "pacer_program_judged_as_of_timestamp_seconds", **labels)
        assert judged == JINAN_SITES_JUDGED.timestamp()


def test_a_city_without_data_has_status_no_data_and_no_attainment(samples: Samples) -> None:
    # zibo reported nothing; qingdao reported gigabit only (its 5G report was rejected)
    attainment = samples["pacer_program_attainment_ratio"]
    for city, program in [("zibo", "5g-2025"), ("zibo", "gigabit-2024"), ("qingdao", "5g-2027")]:
        labels = {"city": city, "program": program}
        assert frozenset(labels.items()) not in attainment
        assert value(samples, "pacer_program_status", **labels, status="no_data") == 1
        # judged at the floor: the end of 2024-06-30
        judged = value(samples, "pacer_program_judged_as_of_timestamp_seconds", **labels)
        assert judged == GIGABIT_JUDGED.timestamp()


def test_latest_period_is_the_first_day_of_the_latest_month_reported(samples: Samples) -> None:
    def labels(city: str, kind: str) -> frozenset[tuple[str, str]]:
        return frozenset({"city": city, "kind": kind}.items())

    assert samples["pacer_report_latest_period"] == {
        labels("jinan", "5g-sites"): datetime(2024, 7, 1, tzinfo=CST).timestamp(),
        labels("jinan", "gigabit"): datetime(2024, 6, 1, tzinfo=CST).timestamp(),  # not May's
        labels("qingdao", "gigabit"): datetime(2024, 6, 1, tzinfo=CST).timestamp(),
    }


def test_program_status_is_one_hot_for_every_city_and_program(samples: Samples) -> None:
    status = samples["pacer_program_status"]
    assert len(status) == 16 * 3 * len(STATUSES)
    totals: dict[tuple[str, str], float] = {}
    for key, sample in status.items():
        labels = dict(key)
        assert labels["status"] in STATUSES
        assert sample in (0, 1)
        city_program = (labels["city"], labels["program"])
        totals[city_program] = totals.get(city_program, 0) + sample
    assert set(totals.values()) == {1}


def test_gigabit_gauges_show_latest_values_thresholds_and_the_standard(samples: Samples) -> None:
    assert per_indicator(samples, "pacer_gigabit_indicator_threshold") == THRESHOLDS
    # The late May report (older as_of) did not replace June's values.
    june = GigabitReport.model_validate_json(JINAN_GIGABIT_JUNE.payload).indicators
    assert per_indicator(samples, "pacer_gigabit_indicator_value", city="jinan") == june
    qingdao = GigabitReport.model_validate_json(QINGDAO_GIGABIT_JUNE.payload).indicators
    assert per_indicator(samples, "pacer_gigabit_indicator_value", city="qingdao") == qingdao
    assert per_indicator(samples, "pacer_gigabit_indicator_value", city="zibo") == {}

    passing = "pacer_gigabit_indicator_passing"
    all_pass = dict.fromkeys(THRESHOLDS, 1.0)
    assert per_indicator(samples, passing, city="jinan") == {**all_pass, "bs_5g_per_10k": 0.0}
    assert per_indicator(samples, passing, city="qingdao") == all_pass
    assert per_indicator(samples, passing, city="zibo") == dict.fromkeys(THRESHOLDS, 0.0)

    expected = {  # city: (standard met, share of thresholded indicators passing, status)
        "jinan": (0, 5 / 6, "at_risk"),  # 0.833: under 0.90, not under 0.75
        "qingdao": (1, 1.0, "on_track"),  # met only at the final judgement (end of 2024)
    }
    for city, (met, ratio, status) in expected.items():
        labels = {"city": city, "program": "gigabit-2024"}
        assert value(samples, "pacer_gigabit_standard_met", city=city) == met
        assert value(samples, "pacer_program_attainment_ratio", **labels) == pytest.approx(ratio)
        assert value(samples, "pacer_program_status", **labels, status=status) == 1
        judged = value(samples, "pacer_program_judged_as_of_timestamp_seconds", **labels)
        assert judged == GIGABIT_JUDGED.timestamp()
    assert value(samples, "pacer_gigabit_standard_met", city="zibo") == 0


def test_last_received_is_the_receipt_of_the_latest_applied_report(samples: Samples) -> None:
    def labels(city: str, kind: str) -> frozenset[tuple[str, str]]:
        return frozenset({"city": city, "kind": kind}.items())

    # Receipt order, not as_of, decides; the rejected qingdao sites report counts for nothing.
    assert samples["pacer_report_last_received_timestamp_seconds"] == {
        labels("jinan", "5g-sites"): pytest.approx(JINAN_SITES_JULY.received_at.timestamp()),
        labels("jinan", "gigabit"): pytest.approx(JINAN_GIGABIT_LATE_MAY.received_at.timestamp()),
        labels("qingdao", "gigabit"): pytest.approx(QINGDAO_GIGABIT_JUNE.received_at.timestamp()),
    }


def test_stream_gauges_show_length_pending_lag_and_dead_letters(
    samples: Samples, aggregation: Aggregation
) -> None:
    reports, progress, dead = names.REPORTS_STREAM, names.PROGRESS_STREAM, names.DEAD_LETTER_STREAM
    length = aggregation.reports_stream_length
    assert value(samples, "pacer_stream_length", stream=reports) == length
    assert value(samples, "pacer_stream_length", stream=progress) == aggregation.applied
    assert value(samples, "pacer_stream_length", stream=dead) == 1
    aggregator = {"stream": reports, "group": names.AGGREGATOR_GROUP}
    assert value(samples, "pacer_stream_pending_messages", **aggregator) == 1
    assert value(samples, "pacer_stream_lag_messages", **aggregator) == 1
    alerting = {"stream": progress, "group": names.ALERTING_GROUP}  # nobody reads it yet
    assert value(samples, "pacer_stream_pending_messages", **alerting) == 0
    assert value(samples, "pacer_stream_lag_messages", **alerting) == aggregation.applied
    assert samples["pacer_dead_letter_messages"] == {frozenset({"stream": reports}.items()): 1}


def test_alerts_firing_counts_the_active_alerts_by_name_and_severity(
    exporter: Service, redis_client: redis.Redis, now: datetime
) -> None:
    _, quiet = scrape(exporter)
    assert set(quiet["pacer_alerts_firing"].values()) == {0}
    # every alertname x severity it can have, as zeros (ReportDueSoon: info only)
    assert len(quiet["pacer_alerts_firing"]) == 7 * 2 + 1
    for city in ("jinan", "heze"):
        labels = {"alertname": "ReportOverdue", "severity": "warning"}
        alert = Alert(labels=labels | {"city": city, "kind": "gigabit"})
        redis_client.hset(
            names.ACTIVE_ALERTS_KEY, alert.fingerprint, encode_active(ActiveAlert(alert, now, now))
        )
    time.sleep(SCRAPE_MAX_AGE_S)
    _, samples = scrape(exporter)
    assert value(samples, "pacer_alerts_firing", alertname="ReportOverdue", severity="warning") == 2
    assert (
        value(samples, "pacer_alerts_firing", alertname="ReportOverdue", severity="critical") == 0
    )


def test_reads_now_from_the_configured_clock(samples: Samples, now: datetime) -> None:
    assert value(samples, "pacer_exporter_clock_timestamp_seconds") == now.timestamp()


def test_replicas_return_the_same_numbers(
    exporter: Service,
    aggregation: Aggregation,
    service_env: dict[str, str],
    make_service: Callable[..., Service],
) -> None:
    replica = make_service("exporter", service_env)
    _, first = scrape(exporter)
    _, second = scrape(replica)

    def state(samples: Samples) -> Samples:
        """Pacer's numbers: not the scrape's duration, nor the process's own (process_*)."""
        return {
            name: by_labels
            for name, by_labels in samples.items()
            if name.startswith("pacer_") and name != "pacer_exporter_scrape_duration_seconds"
        }

    assert state(first) == state(second)
    assert "process_cpu_seconds_total" in first


@pytest.fixture
def lonely_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, to be hung and stopped."""
    server = RedisServer(tmp_path / "lonely-redis").start()
    yield server
    if server.process is not None:
        os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def test_answers_503_quickly_while_redis_hangs_or_is_gone(
    lonely_redis: RedisServer, service_env: dict[str, str], make_service: Callable[..., Service]
) -> None:
    exporter = make_service("exporter", {**service_env, "PACER_REDIS_URL": lonely_redis.url})
    assert httpx.get(f"{exporter.url}/metrics", timeout=5).status_code == 200
    assert lonely_redis.process is not None

    def unavailable_within(seconds: float) -> None:
        started = time.monotonic()
        metrics = httpx.get(f"{exporter.url}/metrics", timeout=10)
        assert metrics.status_code == 503, metrics.text
        assert time.monotonic() - started < seconds
        ready = httpx.get(f"{exporter.url}/readyz", timeout=10)
        assert ready.status_code == 503
        assert "redis" in ready.json()["problems"]
        assert httpx.get(f"{exporter.url}/healthz", timeout=5).status_code == 200

    time.sleep(SCRAPE_MAX_AGE_S)  # no shared read left to answer from
    os.kill(lonely_redis.process.pid, signal.SIGSTOP)  # accepts connections, answers nothing
    try:
        unavailable_within(1.5 + 2.0)  # the client's socket timeout, plus slack
    finally:
        os.kill(lonely_redis.process.pid, signal.SIGCONT)
    wait_until(lambda: httpx.get(f"{exporter.url}/metrics", timeout=5).status_code == 200)

    time.sleep(SCRAPE_MAX_AGE_S)
    lonely_redis.stop()
    unavailable_within(1.0)
