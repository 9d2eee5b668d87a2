"""What a user would pick instead: the Prometheus Pushgateway receiving the cities' figures.

Each city PUTs its gauges to ``/metrics/job/pacer/city/<id>`` in the text exposition format (the
seven gigabit indicators, its in-service 5G site count and a last-report timestamp: what a Pacer
report carries); Pacer's ingest receives the same cities' gigabit reports (all seven indicators,
each a new report). Both at 64 connections (wrk, bench/wrk/reports.lua), at 16 and 1,000 cities
(Pacer on a synthetic 1,000-city targets file from bench/synthetic.py, one token per city). The
Pushgateway runs with default flags but two: a free loopback port, and no persistence file (memory
only, as the upstream default; Debian's build defaults to a file under /var/lib/prometheus).

The two do not do the same work. A PUT replaces one group of samples in the Pushgateway's memory:
no authentication, no validation against targets, no idempotency, nothing durable, no history;
the next push of that city overwrites the last. A Pacer report is authenticated, validated,
deduplicated and appended to a Redis stream to be applied and kept.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.harness import (
    Figure,
    Goal,
    RedisServer,
    Report,
    free_port,
    need_binary,
    pacer_env,
    stop_process,
    token_for,
    wait_until,
    write_tokens_file,
)
from bench.ingest import THROTTLE_NOTE, Instances, pacer_ingest
from bench.load import LoadResult, wrk
from bench.synthetic import write_targets_file

CONNECTIONS = 64
RATIO_GOAL = Goal(50.0, "ratio_at_least", ">= 50x Pushgateway")


@dataclass(frozen=True)
class Plan:
    city_counts: tuple[int, ...]
    seconds: int
    warmup_seconds: int


PLANS = {
    "tiny": Plan(city_counts=(1000,), seconds=1, warmup_seconds=0),
    "full": Plan(city_counts=(16, 1000), seconds=8, warmup_seconds=1),
}


@contextlib.contextmanager
def pushgateway(binary: str, workdir: Path) -> Iterator[Instances]:
    port = free_port()
    with (workdir / "pushgateway.log").open("ab") as log:
        process = subprocess.Popen(
            # Debian's build persists to /var/lib/prometheus/pushgateway.data by default: a run
            # would start with the groups of every run before it, and leave its own behind.
            [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"the Pushgateway exited; see {workdir / 'pushgateway.log'}")
            return httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200

        wait_until(ready, timeout=20)
        yield Instances([("127.0.0.1", port)], [process.pid])
    finally:
        stop_process(process)


def run(report: Report, workdir: Path) -> None:
    plan = PLANS[report.size]
    wrk_binary = need_binary("wrk")
    gateway_binary = need_binary("prometheus-pushgateway")
    server = RedisServer(workdir / "redis").start()
    print(f"   Pacer: {THROTTLE_NOTE}")
    try:
        for count in plan.city_counts:
            cities = write_targets_file(workdir / f"targets-{count}.yaml", count)
            credentials = [(city, token_for(city)) for city in cities]
            tokens_file = write_tokens_file(workdir / f"tokens-{count}.yaml", cities)
            env = pacer_env(server, workdir / f"targets-{count}.yaml", tokens_file)
            tag = f"pg{int(time.time() * 1000) % 10**9}-{count}"

            with pushgateway(gateway_binary, workdir) as gateway:
                pushes = _load(plan, wrk_binary, gateway, "push", f"{tag}p", credentials)
            with pacer_ingest(1, env, workdir) as pacer:
                reports = _load(plan, wrk_binary, pacer, "gigabit", f"{tag}r", credentials)
            for what, result in (("Pushgateway PUTs", pushes), ("Pacer reports", reports)):
                print(
                    f"   {count:>5} cities  {what:<16}: {result.describe()}, "
                    f"{result.cpu_ms_per_request:.2f} ms CPU/req"
                )
            report.extend(_figures(count, reports, pushes))
    finally:
        server.stop()


def _load(
    plan: Plan,
    wrk_binary: str,
    app: Instances,
    kind: str,
    tag: str,
    credentials: list[tuple[str, str]],
) -> LoadResult:
    """A warm-up (full size), then the measured wrk run at 64 connections."""
    if plan.warmup_seconds:
        wrk(
            wrk_binary,
            app.endpoints,
            kind=kind,
            tag=f"{tag}w",
            credentials=credentials,
            seconds=plan.warmup_seconds,
            connections=CONNECTIONS,
        )
    return wrk(
        wrk_binary,
        app.endpoints,
        kind=kind,
        tag=tag,
        credentials=credentials,
        seconds=plan.seconds,
        connections=CONNECTIONS,
        pids=app.pids,
    )


def _figures(count: int, reports: LoadResult, pushes: LoadResult) -> list[Figure]:
    goal = RATIO_GOAL if count >= 1000 else None
    notes = (
        f"64 connections; Pacer gigabit reports (7 indicators) vs Pushgateway PUTs of the same "
        f"gauges; {THROTTLE_NOTE}; failed: Pacer {reports.failed}, Pushgateway {pushes.failed}"
    )
    return [
        Figure(
            "pushgateway",
            f"{count} cities reports/s vs pushes/s",
            reports.rate,
            "req/s",
            pushes.rate,
            "Pushgateway PUTs",
            goal=goal,
            notes=notes,
        ),
        Figure(
            "pushgateway",
            f"{count} cities CPU per report vs push",
            reports.cpu_ms_per_request,
            "ms",
            pushes.cpu_ms_per_request,
            "Pushgateway PUTs",
            higher_is_better=False,
            notes="server CPU (user+system) per request: the figure least moved by other load",
        ),
        Figure(
            "pushgateway",
            f"{count} cities p99 @64 conns",
            reports.latencies.percentile_ms(99),
            "ms",
            pushes.latencies.percentile_ms(99),
            "Pushgateway PUTs",
            higher_is_better=False,
            notes=notes,
        ),
    ]
