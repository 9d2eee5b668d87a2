"""Evaluation: one alert evaluation at 340 cities beside the same at 16 (issue 17's new figure).

The alerting service evaluates every rule for every city after each applied report and every
``PACER_EVAL_INTERVAL`` seconds; at a country's 340 cities one evaluation must still fit in
250 ms (p99) or the events queue behind it. The evaluation timed is the service's own
(``services.alerting.evaluator.Evaluator.evaluate``: read every city's state from Redis, judge
every rule, diff against the active alerts, write the changes and notifications in one
transaction), called in this process on a real Redis, one at a time.

The store is loaded the way the aggregator receives it: report entries (``ReportEnvelope``,
exactly what ingest appends) XADDed to the reports stream and applied by the real aggregator
process. Each city reports its new 5G sites every month from 2024-01 to 2025-06 (commissioned on
different days, so its per-day counts cover the months as real reports do) and its seven gigabit
indicators every month of 2024, each received on the 5th of the next month; the clock stands at
2025-07-15. A few cities in every eight build at half the plan's pace, keep household gigabit
coverage under its threshold, or skip June's reports, so the judgement fires alerts of each kind
and the evaluation diffs against a realistic set of active ones (the first, untimed evaluation
records them; the timed ones find the same).

Figures: evaluation p50 and p99 at 340 cities; baseline: the same at 16 cities (the shipped
targets file's cities, with the same sites per city), as scale compares them.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import redis
from redis.asyncio import Redis as AsyncRedis

from bench.harness import (
    Figure,
    Goal,
    RedisServer,
    Report,
    Service,
    pacer_env,
    write_tokens_file,
)
from bench.synthetic import OPERATORS, write_targets_file
from services.alerting.evaluator import Evaluator
from shared import names
from shared.clock import parse_clock
from shared.domain.state import ReportKind
from shared.targets import load_targets
from shared.wire import ReportEnvelope, canonical_json

NATIONAL_CITIES = 340
SHANDONG_CITIES = 16
SIZES = {"tiny": (24, 5, 40), "full": (NATIONAL_CITIES, 100, 40)}
"""size -> (cities of the large run, evaluations timed per run, sites per city and month)."""
BASELINE_SITES = 2_000
"""Every city's baseline sites: quota 700 for 5g-2025 (the plan: ~29 new sites a month on
average, more in spring), 1,000 more for 5g-2027's density; 40 a month keeps a city on both."""
CLOCK = "fixed:2025-07-15T12:00:00+08:00"
MONTHS = [f"{year}-{month:02d}" for year in (2024, 2025) for month in range(1, 13)][:18]
GIGABIT_MONTHS = MONTHS[:12]
WINDOW = 64
APPLY_TIMEOUT_S = {"tiny": 60.0, "full": 900.0}
GOAL = Goal(250, "value_at_most", "p99 <= 250 ms")
INDICATORS = {
    "household_gigabit_coverage_pct": 96.0,
    "pon_10g_port_share_pct": 31.0,
    "key_location_5g_reach_pct": 92.0,
    "bs_5g_per_10k": 21.5,
    "bb_500m_user_share_pct": 33.0,
    "bb_1000m_users": 125_000.0,
    "user_5g_share_pct": 41.0,
}


@dataclass(frozen=True)
class Run:
    cities: int
    timings_ms: list[float]
    active_alerts: int
    reports: int


def _month_end(month: str) -> date:
    year, number = map(int, month.split("-"))
    following = date(year + number // 12, number % 12 + 1, 1)
    return following - timedelta(days=1)


def _received(month: str) -> datetime:
    end = _month_end(month)
    return datetime(end.year, end.month, end.day, 2, tzinfo=UTC) + timedelta(days=5)


def _role(index: int) -> str:
    """Most cities build on plan; one in eight of each kind plays a part."""
    return {1: "slow", 3: "below_threshold", 5: "late"}.get(index % 8, "on_plan")


def _entries(city: str, role: str, sites_per_month: int) -> list[dict[str, str]]:
    """Every report entry of one city, in the order the months pass."""
    entries = []
    built = sites_per_month // 2 if role == "slow" else sites_per_month
    serial = 0
    for month in MONTHS:
        if role == "late" and month == MONTHS[-1]:
            continue  # June's reports never arrive: ReportOverdue
        end = _month_end(month)
        sites = []
        for n in range(built):
            day = end.replace(day=1 + (n * end.day) // max(built, 1))
            sites.append(
                {
                    "site_id": f"{city}-{serial:06d}",
                    "operator": OPERATORS[serial % len(OPERATORS)],
                    "status": "in_service",
                    "commissioned_on": day.isoformat(),
                    "lat": round(34.5 + (serial * 0.000137) % 3.5, 6),
                    "lon": round(115.0 + (serial * 0.000291) % 7.0, 6),
                    "district": "高新区",
                    "band": "n41" if serial % 3 else "n78",
                }
            )
            serial += 1
        bodies: list[tuple[ReportKind, dict[str, object]]] = [
            (ReportKind.SITES, {"period": month, "as_of": end.isoformat(), "sites": sites})
        ]
        if month in GIGABIT_MONTHS:
            indicators = dict(INDICATORS)
            if role == "below_threshold":
                indicators["household_gigabit_coverage_pct"] = 72.0
            bodies.append(
                (
                    ReportKind.GIGABIT,
                    {"period": month, "as_of": end.isoformat(), "indicators": indicators},
                )
            )
        for kind, body in bodies:
            report_id = f"eval-{city}-{kind}-{month}"
            payload = canonical_json({"report_id": report_id, **body})
            envelope = ReportEnvelope(report_id, city, kind, _received(month), payload)
            entries.append(envelope.fields())
    return entries


def load(client: redis.Redis, entries: list[dict[str, str]], timeout_s: float) -> None:
    """XADD the entries, at most WINDOW unapplied at once, until all are applied."""
    deadline = time.monotonic() + timeout_s
    queue = list(reversed(entries))
    waiting: list[tuple[str, str]] = []
    while queue or waiting:
        pipe = client.pipeline(transaction=False)
        while queue and len(waiting) < WINDOW:
            fields = queue.pop()
            pipe.xadd(names.REPORTS_STREAM, fields)  # type: ignore[arg-type]
            waiting.append((fields["city"], fields["report_id"]))
        pipe.execute()
        pipe = client.pipeline(transaction=False)
        for city, report_id in waiting:
            pipe.hget(names.report_key(city, report_id), "status")
        statuses = pipe.execute()
        if b"rejected" in statuses:
            rejected = [r for r, s in zip(waiting, statuses, strict=True) if s == b"rejected"]
            raise SystemExit(f"evaluation: reports rejected: {rejected[:3]}")
        waiting = [r for r, s in zip(waiting, statuses, strict=True) if s != b"applied"]
        if waiting and (len(waiting) >= WINDOW or not queue):
            if time.monotonic() > deadline:
                raise SystemExit(f"evaluation: not applied within {timeout_s:.0f} s")
            time.sleep(0.005)


async def time_evaluations(url: str, targets_file: Path, times: int) -> tuple[list[float], int]:
    """``times`` evaluations after one untimed one (which records the active alerts)."""
    client = AsyncRedis.from_url(url, decode_responses=True)
    try:
        evaluator = Evaluator.on_store(
            client,
            load_targets(targets_file),
            parse_clock(CLOCK),
            repeat_interval=timedelta(hours=4),
            resolve_hold=timedelta(minutes=5),
        )
        first = await evaluator.evaluate()
        cities = list(evaluator.targets.cities)
        taken = []
        for index in range(times):
            # As after a report: one city's state generation moves, so the evaluation reads that
            # city again (the aggregator's apply script does this; it is stopped here).
            await client.hincrby(names.STATE_GENERATION_KEY, cities[index % len(cities)], 1)
            started = time.perf_counter()
            evaluation = await evaluator.evaluate()
            taken.append((time.perf_counter() - started) * 1000)
            if evaluation.notifications:
                raise SystemExit("evaluation: a repeated evaluation decided new notifications")
        return taken, len(first.active)
    finally:
        await client.aclose()


def measure(count: int, sites_per_month: int, times: int, workdir: Path, size: str) -> Run:
    workdir.mkdir(parents=True, exist_ok=True)
    targets_file = workdir / "targets.yaml"
    cities = write_targets_file(targets_file, count, sites_per_city=BASELINE_SITES)
    tokens_file = write_tokens_file(workdir / "tokens.yaml", cities)
    server = RedisServer(workdir / "redis").start()
    env = pacer_env(server, targets_file, tokens_file, PACER_CLOCK=CLOCK)
    aggregator = Service("aggregator", env, workdir / "aggregator.log").start()
    try:
        client = redis.Redis(port=server.port)
        entries = [
            entry
            for index, city in enumerate(cities)
            for entry in _entries(city, _role(index), sites_per_month)
        ]
        started = time.perf_counter()
        load(client, entries, APPLY_TIMEOUT_S[size])
        print(
            f"   {count} cities: {len(entries)} reports applied in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        aggregator.stop()  # its progress events would otherwise wake nobody: the store stands
        client.close()
        timings, active = asyncio.run(time_evaluations(server.url, targets_file, times))
    finally:
        aggregator.stop()
        server.stop()
    return Run(count, timings, active, len(entries))


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(report: Report, workdir: Path) -> None:
    cities, times, sites_per_month = SIZES[report.size]
    small = measure(SHANDONG_CITIES, sites_per_month, times, workdir / "small", report.size)
    large = measure(cities, sites_per_month, times, workdir / "large", report.size)
    shape = (
        f"{len(MONTHS)} months of 5G reports ({sites_per_month} sites a month on plan) and "
        f"{len(GIGABIT_MONTHS)} of gigabit per city, clock {CLOCK.removeprefix('fixed:')[:10]}; "
        f"active alerts {large.active_alerts} vs {small.active_alerts}"
    )
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        report.add(
            Figure(
                "evaluation",
                f"alert evaluation {name}, {large.cities} cities",
                _p(large.timings_ms, q),
                "ms",
                baseline=_p(small.timings_ms, q),
                baseline_name=f"{small.cities} cities",
                higher_is_better=False,
                goal=GOAL if name == "p99" else None,
                notes=f"{len(large.timings_ms)} evaluations, one at a time; mean "
                f"{statistics.mean(large.timings_ms):.1f} ms; {shape}",
            )
        )
