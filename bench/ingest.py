"""Ingest throughput and latency: Pacer's ingest against a minimal pydantic + XADD app.

Single-site 5G reports and gigabit reports, 64 connections (wrk, bench/wrk/reports.lua: every
request a new report id, rotating over the 16 cities with each city's own token), at 1 and 2
instances. Two instances are two processes on two ports with the load split between them, as
Pacer scales (one process per instance: a shared-port worker pool would answer /metrics from a
random worker). Both apps run side by side and take turns in short wrk slices, so the machine's
drift falls on both alike; besides req/s and latency, the servers' CPU per request is reported,
the figure other load on this shared machine moves least. Then p99 at half of Pacer's capacity,
open loop (bench/load.py), for both apps at the same rate.

No aggregator runs (the baseline consumes nothing either), so the reports stream only grows:
the backlog bound (PACER_MAX_BACKLOG=1e9) and PACER_RATE_LIMIT_RPS (1e6) are far above what a
run reaches, so both checks run and neither throttles (harness.pacer_env); Redis is emptied
between runs.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from bench.harness import (
    REPO_ROOT,
    Figure,
    Goal,
    RedisServer,
    Report,
    Service,
    free_port,
    need_binary,
    pacer_env,
    profiled,
    stop_process,
    token_for,
    wait_until,
    write_tokens_file,
)
from bench.load import Endpoint, LoadResult, RequestFor, combined, run_open_loop, wrk
from bench.payloads import KINDS, post_request, report_body
from shared.targets import load_targets
from shared.targets.loader import DEFAULT_TARGETS_FILE

CONNECTIONS = 64
CAPACITY_FIGURE = "5g-sites x1 req/s"
"""The figure whose value the latency benchmark's light load is a tenth of."""
THROTTLE_NOTE = (
    "no aggregator; PACER_MAX_BACKLOG=1e9, PACER_RATE_LIMIT_RPS=1e6: checked, never refusing"
)
RATIO_GOAL = Goal(0.8, "ratio_at_least", ">= 0.8x baseline")
P99_GOAL = Goal(20.0, "value_at_most", "p99 <= 20 ms")


@dataclass(frozen=True)
class Plan:
    instances: tuple[int, ...]
    slices: int
    slice_seconds: int
    """Capacity: each app runs ``slices`` wrk runs of ``slice_seconds``, taking turns."""
    half_seconds: float
    """Of each open-loop run at half capacity."""
    warmup_seconds: int


PLANS = {
    "tiny": Plan(instances=(1,), slices=1, slice_seconds=1, half_seconds=1.0, warmup_seconds=0),
    "full": Plan(instances=(1, 2), slices=4, slice_seconds=2, half_seconds=5.0, warmup_seconds=1),
}


@dataclass(frozen=True)
class Instances:
    """Running processes of one app: where to send requests, and whose CPU time to count."""

    endpoints: list[Endpoint]
    pids: list[int]
    services: list[Service] = field(default_factory=list)
    """Pacer's, for py-spy (harness.profiled, BENCH_PROFILE=<dir>)."""


@contextlib.contextmanager
def pacer_ingest(count: int, env: dict[str, str], workdir: Path) -> Iterator[Instances]:
    """``count`` ingest processes (``pacer serve ingest``), each on its own port."""
    services = [Service("ingest", env, workdir / f"ingest-{i}.log") for i in range(count)]
    try:
        for service in services:
            service.start(wait=False)
        for service in services:
            service.wait_ready(timeout=30)
        yield Instances(
            [("127.0.0.1", service.port) for service in services],
            [service.process.pid for service in services if service.process is not None],
            services,
        )
    finally:
        for service in services:
            service.stop()


@contextlib.contextmanager
def baseline_app(count: int, redis_url: str, workdir: Path) -> Iterator[Instances]:
    ports = [free_port() for _ in range(count)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for index, port in enumerate(ports):
            with (workdir / f"baseline-{index}.log").open("ab") as log:
                command = [sys.executable, "-m", "bench.baseline_app", "--port", str(port)]
                command += ["--redis-url", redis_url]
                processes.append(
                    subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
                )
        for port, process in zip(ports, processes, strict=True):

            def ready(port: int = port, process: subprocess.Popen[bytes] = process) -> bool:
                if process.poll() is not None:
                    raise RuntimeError(f"the baseline app exited; see {workdir}")
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200

            wait_until(ready, timeout=30)
        yield Instances([("127.0.0.1", port) for port in ports], [p.pid for p in processes])
    finally:
        for process in processes:
            stop_process(process)


def open_loop_requests(
    endpoints: Sequence[Endpoint], kind: str, tag: str, credentials: Sequence[tuple[str, str]]
) -> RequestFor:
    """Request i: a new report of ``kind``, round-robin over the endpoints and the cities."""

    def request_for(number: int) -> tuple[Endpoint, bytes]:
        city, token = credentials[number % len(credentials)]
        path = f"/v1/cities/{city}/reports/{kind}"
        body = report_body(kind, f"{tag}-{number}", number)
        return endpoints[number % len(endpoints)], post_request(path, token, body)

    return request_for


@dataclass(frozen=True)
class Measured:
    capacity: LoadResult
    half: LoadResult


def measure_apps(
    apps: dict[str, Instances],
    kind: str,
    *,
    plan: Plan,
    wrk_binary: str,
    store: redis.Redis,
    credentials: Sequence[tuple[str, str]],
) -> dict[str, Measured]:
    """Per app: capacity at 64 connections, then latency at half of Pacer's capacity.

    The capacity runs are slices taken in turn (Pacer, baseline, baseline, Pacer, ...), so the
    drift of this shared machine falls on both apps alike rather than on whichever ran later.
    """
    stamp = f"{int(time.time() * 1000) % 10**9}-{kind[0]}"
    store.flushall()
    for app, instances in apps.items():
        if plan.warmup_seconds:
            wrk(
                wrk_binary,
                instances.endpoints,
                kind=kind,
                tag=f"{stamp}{app}w",
                credentials=credentials,
                seconds=plan.warmup_seconds,
                connections=CONNECTIONS,
            )
    pacer = apps["pacer"]
    with profiled(f"ingest-{kind}-x{len(pacer.endpoints)}", pacer.services):
        capacity = _take_turns(apps, kind, stamp, plan, wrk_binary, credentials)
    rate = capacity["pacer"].rate / 2
    measured: dict[str, Measured] = {}
    for app, instances in apps.items():
        where = instances.endpoints
        store.flushall()
        half = run_open_loop(
            open_loop_requests(where, kind, f"{stamp}{app}h", credentials),
            rate=rate,
            seconds=plan.half_seconds,
        )
        print(
            f"   {app:<8} x{len(where)} {kind:<8}  64 conns: {capacity[app].describe()}, "
            f"{capacity[app].cpu_ms_per_request:.2f} ms CPU/req"
        )
        print(f"   {app:<8} x{len(where)} {kind:<8}  {rate:,.0f}/s open: {half.describe()}")
        measured[app] = Measured(capacity[app], half)
    return measured


def _take_turns(
    apps: dict[str, Instances],
    kind: str,
    stamp: str,
    plan: Plan,
    wrk_binary: str,
    credentials: Sequence[tuple[str, str]],
) -> dict[str, LoadResult]:
    """Capacity at 64 connections, in slices the apps take in turn (A B, B A, ...)."""
    slices: dict[str, list[LoadResult]] = {app: [] for app in apps}
    order = list(apps)
    for turn in range(plan.slices):
        for app in order if turn % 2 == 0 else reversed(order):
            result = wrk(
                wrk_binary,
                apps[app].endpoints,
                kind=kind,
                tag=f"{stamp}{app}{turn}",
                credentials=credentials,
                seconds=plan.slice_seconds,
                connections=CONNECTIONS,
                pids=apps[app].pids,
            )
            slices[app].append(result)
    return {app: combined(results) for app, results in slices.items()}


def run(report: Report, workdir: Path) -> None:
    plan = PLANS[report.size]
    wrk_binary = need_binary("wrk")
    cities = list(load_targets(None).cities)
    credentials = [(city, token_for(city)) for city in cities]
    tokens_file = write_tokens_file(workdir / "tokens.yaml", cities)
    server = RedisServer(workdir / "redis").start()
    print(f"   {THROTTLE_NOTE}")
    try:
        store = redis.Redis(port=server.port)
        env = pacer_env(server, DEFAULT_TARGETS_FILE, tokens_file)
        for count in plan.instances:
            with (
                pacer_ingest(count, env, workdir) as pacer,
                baseline_app(count, server.url, workdir) as baseline,
            ):
                for kind in KINDS:
                    both = measure_apps(
                        {"pacer": pacer, "baseline": baseline},
                        kind,
                        plan=plan,
                        wrk_binary=wrk_binary,
                        store=store,
                        credentials=credentials,
                    )
                    report.extend(_figures(kind, count, both["pacer"], both["baseline"]))
        store.close()
    finally:
        server.stop()


def _figures(kind: str, count: int, pacer: Measured, baseline: Measured) -> list[Figure]:
    return capacity_figures(
        "ingest",
        f"{kind} x{count}",
        f"pydantic+XADD app x{count}",
        pacer,
        baseline,
        ratio_goal=RATIO_GOAL,
        p99_goal=P99_GOAL,
    )


def capacity_figures(
    benchmark: str,
    label: str,
    versus: str,
    pacer: Measured,
    baseline: Measured,
    *,
    ratio_goal: Goal | None = None,
    p99_goal: Goal | None = None,
) -> list[Figure]:
    """req/s, CPU per request, p50 and p99 at 64 connections, p99 at half capacity."""
    failed = (
        f"failed: pacer {pacer.capacity.failed}+{pacer.half.failed}, "
        f"baseline {baseline.capacity.failed}+{baseline.half.failed}"
    )

    def ms(name: str, value: float, base: float, notes: str, goal: Goal | None = None) -> Figure:
        return Figure(
            benchmark,
            name,
            value,
            "ms",
            base,
            versus,
            higher_is_better=False,
            goal=goal,
            notes=notes,
        )

    return [
        Figure(
            benchmark,
            f"{label} req/s",
            pacer.capacity.rate,
            "req/s",
            baseline.capacity.rate,
            versus,
            goal=ratio_goal,
            notes=f"64 connections; {THROTTLE_NOTE}; {failed}",
        ),
        ms(
            f"{label} CPU per request",
            pacer.capacity.cpu_ms_per_request,
            baseline.capacity.cpu_ms_per_request,
            "server CPU (user+system) per request at 64 connections: the figure least moved by "
            "other load on this shared machine",
        ),
        ms(
            f"{label} p50 @64 conns",
            pacer.capacity.latencies.percentile_ms(50),
            baseline.capacity.latencies.percentile_ms(50),
            "64 connections, closed loop (wrk)",
        ),
        ms(
            f"{label} p99 @64 conns",
            pacer.capacity.latencies.percentile_ms(99),
            baseline.capacity.latencies.percentile_ms(99),
            "64 connections, closed loop (wrk)",
        ),
        ms(
            f"{label} p99 @half capacity",
            pacer.half.latencies.percentile_ms(99),
            baseline.half.latencies.percentile_ms(99),
            f"open loop at {pacer.half.rate:,.0f} req/s (half Pacer's capacity) for both apps",
            goal=p99_goal,
        ),
    ]
