"""Bulk load: the province's whole 5G inventory submitted at once, until every report is applied.

Pacer: 270,000 sites over the 16 shipped cities in proportion to their baseline, rounded to whole
reports of 10,000 (27 reports; a report holds one city's sites, a big city sends several), each
POSTed with its city's token to a real ingest process, applied by a real aggregator process, on a
private redis-server. Four reports are in flight at a time: ``pacer submit`` sends one city's
reports one after another, so four in flight stands for four cities uploading at once. The clock
runs from the first POST until the last report's record says ``applied`` (polled in Redis every
10 ms, which loads neither service).

Baseline, same run, same bodies: one process validates each body with the wire model
(``SitesReport``) and writes an HSET per site (v1's record text) into the city's hash with
pipelined redis-py, the aggregator's end state without its checks, versions, counters or
atomicity. Redis bytes per site: ``used_memory`` after the load (streams trimmed) minus before,
over the sites, beside the baseline's. It runs before and
after Pacer; the faster run is the baseline.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from bench.scale import raw_sites_key, stored_sites, used_memory
from bench.synthetic import site_records, write_targets_file
from shared import names
from shared.store.sites.encoding import BUCKETS, v1_record
from shared.targets import load_targets
from shared.wire import SitesReport

IN_FLIGHT = 4
SIZES = {"tiny": (4, 500), "full": (27, 10_000)}
"""size -> (reports, sites per report)."""
APPLY_TIMEOUT_S = {"tiny": 30.0, "full": 180.0}


@dataclass(frozen=True)
class Upload:
    city: str
    report_id: str
    body: bytes


def reports_per_city(weights: dict[str, int], reports: int) -> dict[str, int]:
    """Split ``reports`` over the cities in proportion to ``weights``, every city at least one
    (the largest cities only, when there are fewer reports than cities)."""
    chosen = sorted(weights, key=lambda c: -weights[c])[:reports]
    total = sum(weights[c] for c in chosen)
    counts = dict.fromkeys(chosen, 1)
    while sum(counts.values()) < reports:
        # the city furthest below its proportional share gets the next report
        city = max(chosen, key=lambda c: weights[c] * reports / total - counts[c])
        counts[city] += 1
    return counts


def uploads(reports: int, sites_per_report: int) -> list[Upload]:
    """The bodies, serialised before the clock starts (the client's JSON is not Pacer's cost)."""
    targets = load_targets()
    baseline = {c.id: c.baseline_sites for c in targets.cities.values()}
    made: list[Upload] = []
    for city, count in reports_per_city(baseline, reports).items():
        for n in range(count):
            report_id = f"bulk-{city}-{n + 1:02d}"
            sites = site_records(city, sites_per_report, start=n * sites_per_report)
            body = {"report_id": report_id, "period": "2024-06", "as_of": "2024-06-30"}
            made.append(Upload(city, report_id, json.dumps(body | {"sites": sites}).encode()))
    return made


def run_baseline(client: redis.Redis, work: list[Upload]) -> float:
    started = time.perf_counter()
    for upload in work:
        report = SitesReport.model_validate_json(upload.body)
        pipe = client.pipeline(transaction=False)
        key = raw_sites_key(upload.city)
        for site in report.sites:
            pipe.hset(key, site.site_id, v1_record(site))
        pipe.execute()
    return time.perf_counter() - started


def _post(api: str, upload: Upload, deadline: float) -> int:
    """POST until accepted; a 503 is retried with the same report_id, as ``pacer submit`` does.
    Returns how many retries it took."""
    retries = 0
    with httpx.Client(base_url=api, timeout=60) as http:
        while True:
            response = http.post(
                f"/v1/cities/{upload.city}/reports/5g-sites",
                content=upload.body,
                headers={
                    "Authorization": f"Bearer {token_for(upload.city)}",
                    "Content-Type": "application/json",
                },
            )
            if response.status_code != 503 or time.monotonic() > deadline:
                break
            retries += 1
            time.sleep(float(response.headers.get("Retry-After", "0.2")))
    # 200 "duplicate": an earlier attempt was stored although its answer was a 503 (Redis
    # answered after ingest's timeout); the contract makes that retry harmless.
    if response.status_code not in (200, 202):
        raise SystemExit(f"bulk: {upload.report_id}: HTTP {response.status_code} {response.text}")
    return retries


def wait_all_applied(client: redis.Redis, reports: list[tuple[str, str]], timeout_s: float) -> None:
    """``reports``: (city, report_id) pairs."""
    deadline = time.monotonic() + timeout_s
    pending = list(reports)
    while pending:
        pipe = client.pipeline(transaction=False)
        for city, report_id in pending:
            pipe.hget(names.report_key(city, report_id), "status")
        statuses = pipe.execute()
        rejected = [r for r, s in zip(pending, statuses, strict=True) if s == b"rejected"]
        if rejected:
            raise SystemExit(f"bulk: reports rejected: {rejected}")
        pending = [r for r, s in zip(pending, statuses, strict=True) if s != b"applied"]
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"bulk: {len(pending)} reports not applied in {timeout_s:.0f} s")
        if pending:
            time.sleep(0.01)


def lua_seconds(client: redis.Redis) -> float:
    """Time Redis spent in scripts since the last CONFIG RESETSTAT (the apply and accept scripts:
    Redis is single-threaded, so this is time nothing else could run)."""
    stats = client.info("commandstats")
    return sum(
        float(value["usec"]) / 1e6
        for name, value in stats.items()
        if name in ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_fcall")
    )


def run_pacer(
    api: str, client: redis.Redis, work: list[Upload], timeout_s: float
) -> tuple[float, int]:
    """Seconds from the first POST until every report is applied, and the 503s retried."""
    started = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        posted = [pool.submit(_post, api, upload, deadline) for upload in work]
        wait_all_applied(client, [(u.city, u.report_id) for u in work], timeout_s)
        retries = sum(future.result() for future in posted)
    return time.perf_counter() - started, retries


def run(report: Report, workdir: Path) -> None:
    need_binary("redis-server")
    reports, per_report = SIZES[report.size]
    work = uploads(reports, per_report)
    sites = reports * per_report
    cities = sorted({u.city for u in work})
    targets_file = workdir / "targets.yaml"
    write_targets_file(targets_file, 16)
    tokens_file = write_tokens_file(workdir / "tokens.yaml", cities)
    server = RedisServer(workdir / "redis").start()
    services: list[Service] = []
    try:
        client = redis.Redis(port=server.port)
        client.flushall()
        empty = used_memory(client)
        baseline_runs = [run_baseline(client, work)]
        raw_per_site = (used_memory(client) - empty) / sites
        client.flushall()
        empty = used_memory(client)
        env = pacer_env(server, targets_file, tokens_file)
        for name in ("aggregator", "ingest"):
            services.append(Service(name, env, workdir / f"{name}.log").start())
        client.config_resetstat()
        with profiled("bulk", services):
            pacer_s, retries = run_pacer(
                services[1].url, client, work, APPLY_TIMEOUT_S[report.size]
            )
        script_s = lua_seconds(client)
        stored = stored_sites(client, cities)
        if stored != sites:
            raise SystemExit(f"bulk: {stored} sites stored, expected {sites}")
        for stream in (names.REPORTS_STREAM, names.PROGRESS_STREAM):
            client.xtrim(stream, maxlen=0, approximate=False)  # transit, not state
        per_site = (used_memory(client) - empty) / sites
        for service in reversed(services):
            service.stop()
        # The baseline again after Pacer, and the faster of the two counts: the machine drifts,
        # and the comparison must never flatter Pacer.
        client.flushall()
        baseline_runs.append(run_baseline(client, work))
    finally:
        for service in reversed(services):
            service.stop()
        server.stop()
    baseline_s = min(baseline_runs)
    shape = f"{reports} reports x {per_report:,} sites, {len(cities)} cities, {IN_FLIGHT} in flight"
    shape += f"; baseline runs {', '.join(f'{b:.2f}' for b in baseline_runs)} s (before, after)"
    report.add(
        Figure(
            "bulk",
            f"{sites:,} sites: sites applied/s",
            sites / pacer_s,
            "sites/s",
            baseline=sites / baseline_s,
            baseline_name="pydantic + pipelined HSET, 1 process",
            goal=Goal(0.5, "ratio_at_least", ">= 0.5x baseline"),
            notes=f"{shape}; Redis ran scripts for {script_s:.2f} s of it; 503s retried: {retries}",
        )
    )
    report.add(
        Figure(
            "bulk",
            f"{sites:,} sites: Redis bytes per site",
            per_site,
            "B",
            baseline=raw_per_site,
            baseline_name="one HSET field per site, same record",
            higher_is_better=False,
            notes=f"{shape}; everything Pacer stored (sites, report records, counts) over the "
            f"sites; {sites / BUCKETS:.1f} sites per bucket hash, so a bucket's own key weighs "
            "more per site than at the national scale",
        )
    )
    report.add(
        Figure(
            "bulk",
            f"{sites:,} sites: first POST -> all applied",
            pacer_s,
            "s",
            baseline=baseline_s,
            baseline_name="pydantic + pipelined HSET, 1 process",
            higher_is_better=False,
            # The goal is for the full inventory only; at tiny size start-up noise dominates.
            goal=Goal(10.0, "value_at_most", "<= 10 s") if report.size == "full" else None,
            notes=shape,
        )
    )
