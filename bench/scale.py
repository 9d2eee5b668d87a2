"""Scale: a national file of 340 cities and 4,000,000 sites, against 16 cities with as many sites
per city (11,765 each, 188,240 in all), to show how each cost grows with the number of cities.

Sites are loaded the way the aggregator receives them: the benchmark writes report entries of
10,000 sites (the wire format's ``ReportEnvelope``, exactly what ingest appends) to the reports
stream, and the real aggregator process applies them; HTTP is left out because bulk measures it
and 4 M sites through ingest would not fit the time budget. At most WINDOW reports wait at once,
as ingest's backlog bound would keep it.

Figures, each with its baseline from the same run:
- exporter scrape time of ``GET /metrics`` (real exporter process), p50 and p99 over a series of
  scrapes; baseline: the 16-city run;
- Redis memory per site: ``used_memory`` after loading (with the streams trimmed, as the
  aggregator's upkeep does) minus before, over the sites; baseline: the same site records, one HSET
  field per site (v1's record text) in a per-city hash and nothing else. The sites family's v2
  layout (``shared/store/sites``) keeps a site in one listpack bucket, ~60 B; v1 took 259-280 B;
- aggregator throughput, sites applied per second from the first entry to the last applied;
  baseline: the 16-city run;
- the history reads (``bench/history_reads.py``): one city's and the province's 24 months of
  5g-2025, p50 and p99 over a series of requests to a real ingest; baseline: ``GET /v1/progress``
  on the same state, itself against the 16-city run.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import redis

from bench.harness import (
    Figure,
    Goal,
    RedisServer,
    Report,
    Service,
    need_binary,
    pacer_env,
    profiled,
    token_for,
    write_tokens_file,
)
from bench.history_reads import HISTORY_CLOCK, Reads, measure_reads, spread_over_two_years
from bench.synthetic import OPERATORS, write_targets_file
from services.exporter.main import SCRAPE_MAX_AGE_S
from shared import names
from shared.domain.state import ReportKind
from shared.store.sites.encoding import BUCKETS
from shared.wire import MAX_SITES_PER_REPORT, ReportEnvelope

NATIONAL_CITIES = 340
SHANDONG_CITIES = 16
SIZES = {"tiny": (40, 200, 5), "full": (NATIONAL_CITIES, 11_765, 30)}
"""size -> (cities of the large run, sites per city, scrapes per run)."""
WINDOW = 8
APPLY_TIMEOUT_S = {"tiny": 30.0, "full": 400.0}
DAY = "2024-06-12"


@dataclass(frozen=True)
class Run:
    cities: int
    sites: int
    scrape_ms: list[float]
    bytes_per_site: float
    raw_bytes_per_site: float
    sites_per_s: float
    breakdown: str
    reads: Reads


def _site(city: str, n: int) -> tuple[str, str, str]:
    """(site_id, JSON object, stored record) of one synthetic site; the record is what
    ``shared.store.sites.encoding.v1_record`` makes of the JSON, so both runs store the same
    bytes."""
    site_id = f"{city}-{n:07d}"
    operator = OPERATORS[n % len(OPERATORS)]
    lat = round(34.4 + (n * 0.000137) % 4.0, 6)
    lon = round(114.7 + (n * 0.000291) % 8.0, 6)
    band = "n41" if n % 3 else "n78"
    body = (
        f'{{"site_id":"{site_id}","operator":"{operator}","status":"in_service",'
        f'"commissioned_on":"{DAY}","lat":{lat!r},"lon":{lon!r},"district":"高新区","band":"{band}"}}'
    )
    record = f"in_service\t{DAY}\t{operator}\t{lat!r}\t{lon!r}\t高新区\t{band}"
    return site_id, body, record


def _batches(cities: list[str], sites_per_city: int) -> list[tuple[str, int, int]]:
    """(city, first site, count) per report, cities interleaved as monthly reports would be."""
    per_city = [
        [
            (city, start, min(MAX_SITES_PER_REPORT, sites_per_city - start))
            for start in range(0, sites_per_city, MAX_SITES_PER_REPORT)
        ]
        for city in cities
    ]
    rounds = max(len(batches) for batches in per_city)
    return [b[i] for i in range(rounds) for b in per_city if i < len(b)]


def _entry(city: str, start: int, count: int) -> dict[str, str]:
    report_id = f"scale-{city}-{start}"
    sites = ",".join(_site(city, n)[1] for n in range(start, start + count))
    payload = (
        f'{{"as_of":"2024-06-30","period":"2024-06","report_id":"{report_id}","sites":[{sites}]}}'
    )
    received = datetime(2024, 7, 15, 4, tzinfo=UTC)
    return ReportEnvelope(report_id, city, ReportKind.SITES, received, payload).fields()


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def raw_sites_key(city: str) -> str:
    """The baseline's hash (not a Pacer key)."""
    return f"bench:raw-sites:{{{city}}}"


def raw_bytes_per_site(client: redis.Redis, cities: list[str], sites_per_city: int) -> float:
    """The baseline: one HSET field per site, the same record, in a per-city hash."""
    client.flushall()
    before = used_memory(client)
    for city in cities:
        pipe = client.pipeline(transaction=False)
        key = raw_sites_key(city)
        for start in range(0, sites_per_city, 1000):
            # many fields per HSET: the same end state as one HSET per site, written faster
            chunk = [_site(city, n) for n in range(start, min(start + 1000, sites_per_city))]
            pipe.hset(key, mapping={site_id: record for site_id, _, record in chunk})
        pipe.execute()
    per_site = (used_memory(client) - before) / (len(cities) * sites_per_city)
    client.flushall()
    return per_site


def load(client: redis.Redis, batches: list[tuple[str, int, int]], timeout_s: float) -> float:
    """XADD the report entries, at most WINDOW unapplied at once; seconds until all applied."""
    deadline = time.monotonic() + timeout_s
    waiting: list[tuple[str, str]] = []
    started = time.perf_counter()
    queue = list(batches)
    while queue or waiting:
        while queue and len(waiting) < WINDOW:
            fields = _entry(*queue.pop(0))
            client.xadd(names.REPORTS_STREAM, fields)  # type: ignore[arg-type]
            waiting.append((fields["city"], fields["report_id"]))
        pipe = client.pipeline(transaction=False)
        for city, report_id in waiting:
            pipe.hget(names.report_key(city, report_id), "status")
        statuses = pipe.execute()
        if b"rejected" in statuses:
            raise SystemExit(f"scale: a report was rejected: {waiting}")
        waiting = [r for r, s in zip(waiting, statuses, strict=True) if s != b"applied"]
        if waiting and (len(waiting) >= WINDOW or not queue):
            if time.monotonic() > deadline:
                raise SystemExit(f"scale: not applied within {timeout_s:.0f} s")
            time.sleep(0.005)
    return time.perf_counter() - started


def stored_sites(client: redis.Redis, cities: list[str]) -> int:
    """Site ids the cities hold (the sites family's per-city counters)."""
    pipe = client.pipeline(transaction=False)
    for city in cities:
        pipe.get(names.city_site_count_key(city))
    return sum(int(n or 0) for n in pipe.execute())


def breakdown(client: redis.Redis, city: str, sites: int) -> str:
    """Where a site's bytes go: MEMORY USAGE of the bucket hashes (a sample of 512), how many
    buckets left the listpack encoding (all of them checked), and the city's dictionaries."""
    pipe = client.pipeline(transaction=False)
    for bucket in range(BUCKETS):
        pipe.object("encoding", names.site_bucket_key(bucket))
    encodings = Counter(str(e) for e in pipe.execute() if e is not None)
    sample = range(0, BUCKETS, BUCKETS // 512)
    pipe = client.pipeline(transaction=False)
    for bucket in sample:
        pipe.memory_usage(names.site_bucket_key(bucket), samples=0)
        pipe.hlen(names.site_bucket_key(bucket))
    found = pipe.execute()
    used, held = sum(int(n or 0) for n in found[0::2]), sum(int(n) for n in found[1::2])
    words = int(client.memory_usage(names.city_site_words_key(city)) or 0)
    return (
        f"bucket hashes {used / max(held, 1):.0f} B/site ({held / len(sample):.0f} sites per "
        f"bucket; encodings {dict(encodings)}), one city's word dictionary {words} B"
    )


def scrape(url: str, times: int) -> list[float]:
    """Each scrape a fresh read, as Prometheus's (every 15 s or so) are: scrapes within
    ``SCRAPE_MAX_AGE_S`` of one another share its read and rendering (issue 11), and back to
    back about every other one was answered with the text of the one before (~4 ms at 340
    cities, against ~110 ms for the whole work), so the figure moved between the two from run to
    run. Checked: a scrape whose text is the one before's was shared (a fresh one differs at
    least in its own ``pacer_exporter_scrape_duration_seconds``), and stops the benchmark."""
    with httpx.Client(timeout=30) as http:
        previous = http.get(url)  # warm-up: first-scrape costs are not the steady state
        previous.raise_for_status()
        durations = []
        for _ in range(times):
            time.sleep(SCRAPE_MAX_AGE_S * 1.5)
            started = time.perf_counter()
            response = http.get(url)
            durations.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            if response.content == previous.content:
                raise SystemExit("scale: a scrape was answered from the one before, not measured")
            previous = response
    return durations


def measure(count: int, sites_per_city: int, scrapes: int, workdir: Path, size: str) -> Run:
    workdir.mkdir(parents=True, exist_ok=True)
    targets_file = workdir / "targets.yaml"
    cities = write_targets_file(targets_file, count, sites_per_city=sites_per_city)
    tokens_file = write_tokens_file(workdir / "tokens.yaml", cities)
    server = RedisServer(workdir / "redis").start()
    services: list[Service] = []
    try:
        client = redis.Redis(port=server.port)
        raw = raw_bytes_per_site(client, cities, sites_per_city)
        env = pacer_env(server, targets_file, tokens_file)
        services.append(Service("aggregator", env, workdir / "aggregator.log").start())
        before = used_memory(client)
        with profiled(f"scale-{count}", services):
            seconds = load(client, _batches(cities, sites_per_city), APPLY_TIMEOUT_S[size])
        sites = count * sites_per_city
        stored = stored_sites(client, cities)
        if stored != sites:
            raise SystemExit(f"scale: {stored} sites stored, expected {sites}")
        for stream in (names.REPORTS_STREAM, names.PROGRESS_STREAM):
            client.xtrim(stream, maxlen=0, approximate=False)  # transit, not state
        per_site = (used_memory(client) - before) / sites
        where = breakdown(client, cities[0], sites)
        exporter = Service("exporter", env, workdir / "exporter.log").start()
        services.append(exporter)
        durations = scrape(f"{exporter.url}/metrics", scrapes)
        spread_over_two_years(client, cities, sites_per_city)
        ingest_env = env | {"PACER_CLOCK": HISTORY_CLOCK}
        ingest = Service("ingest", ingest_env, workdir / "ingest.log").start()
        services.append(ingest)
        reads = measure_reads(ingest.url, token_for(cities[0]), cities[0], scrapes)
    finally:
        for service in reversed(services):
            service.stop()
        server.stop()
    return Run(count, sites, durations, per_site, raw, sites / seconds, where, reads)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(report: Report, workdir: Path) -> None:
    need_binary("redis-server")
    cities, per_city, scrapes = SIZES[report.size]
    small = measure(SHANDONG_CITIES, per_city, scrapes, workdir / "small", report.size)
    large = measure(cities, per_city, scrapes, workdir / "large", report.size)
    big = f"{large.cities} cities"
    shape = f"{large.sites:,} vs {small.sites:,} sites, {per_city:,} per city in both runs"
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        report.add(
            Figure(
                "scale",
                f"/metrics scrape {name}, {big}",
                _p(large.scrape_ms, q),
                "ms",
                baseline=_p(small.scrape_ms, q),
                baseline_name=f"{small.cities} cities",
                higher_is_better=False,
                goal=Goal(100, "value_at_most", "<= 100 ms"),
                notes=f"{len(large.scrape_ms)} scrapes; mean {statistics.mean(large.scrape_ms):.1f}"
                f" ms; {shape}",
            )
        )
    for run_ in (large, small):
        report.add(
            Figure(
                "scale",
                f"Redis bytes per site, {run_.cities} cities",
                run_.bytes_per_site,
                "B",
                baseline=run_.raw_bytes_per_site,
                baseline_name="one HSET field per site, same record",
                higher_is_better=False,
                goal=Goal(100, "value_at_most", "<= 100 B/site"),
                notes=f"{run_.sites:,} sites; {run_.breakdown}",
            )
        )
    add_history_figures(report, large, small, shape)
    report.add(
        Figure(
            "scale",
            f"aggregator sites applied/s, {big}",
            large.sites_per_s,
            "sites/s",
            baseline=small.sites_per_s,
            baseline_name=f"{small.cities} cities",
            notes=f"report entries XADDed (window {WINDOW}), real aggregator; {shape}",
        )
    )


def add_history_figures(report: Report, large: Run, small: Run, shape: str) -> None:
    """History of one city and of the province beside /v1/progress (same state and ingest)."""
    big = f"{large.cities} cities"
    reads = large.reads
    progress = f"/v1/progress, {big}"
    months = f"{reads.rows} months of 5g-2025, clock 2026-01-15"
    for what, timings in (
        ("history of one city", reads.city_history_ms),
        ("history of the province", reads.province_history_ms),
    ):
        report.add(
            Figure(
                "scale",
                f"{what} p99, {big}",
                _p(timings, 0.99),
                "ms",
                baseline=_p(reads.progress_ms, 0.99),
                baseline_name=progress,
                higher_is_better=False,
                notes=f"{len(timings)} requests, one at a time; p50 {_p(timings, 0.5):.1f} ms; "
                f"{months}; {shape}",
            )
        )
    report.add(
        Figure(
            "scale",
            f"/v1/progress p99, {big}",
            _p(reads.progress_ms, 0.99),
            "ms",
            baseline=_p(small.reads.progress_ms, 0.99),
            baseline_name=f"{small.cities} cities",
            higher_is_better=False,
            notes=f"p50 {_p(reads.progress_ms, 0.5):.1f} ms ({small.cities} cities: "
            f"{_p(small.reads.progress_ms, 0.5):.1f} ms); {shape}",
        )
    )
