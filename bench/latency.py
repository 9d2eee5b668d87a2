"""End-to-end latency under a light steady load: report accepted -> visible on /metrics, and
report accepted -> signed webhook received.

Real processes: redis-server, ingest, aggregator, exporter, alerting, and a webhook receiver
(tests/support/webhooks.py) subscribed to the probe city's gigabit alerts. A background open loop
sends single-site 5G reports of the 15 other cities at a tenth of the ingest's capacity (from the
ingest benchmark of the same run, else a short wrk probe of this ingest). Each probe is a gigabit
report of Jinan whose household coverage alternates between failing (50 %) and passing (95 %), so
every probe both changes a gauge and fires or resolves GigabitIndicatorBelowThreshold
(PACER_RESOLVE_HOLD=0). One probe at a time; /metrics is polled every 5 ms until it shows the
probe's own value (so a figure can be late by up to a poll interval plus one scrape).

Baseline, measured in the same run under the same background load: the floor any stream-based
pipeline pays, one hop through the same Redis: XADD, a consumer blocked in XREAD receives it
(-> the /metrics figure), and POSTs a signed body to the same receiver (-> the webhook figure).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis
from redis.asyncio import Redis

from bench.harness import (
    ADMIN_TOKEN,
    BENCH_CLOCK,
    Figure,
    Goal,
    RedisServer,
    Report,
    Service,
    need_binary,
    token_for,
    write_tokens_file,
)
from bench.ingest import CAPACITY_FIGURE, open_loop_requests
from bench.load import Latencies, LoadResult, open_loop, wrk
from bench.payloads import gigabit_body
from shared import names
from shared.targets import load_targets
from tests.support.webhooks import Received, WebhookReceiver

PROBE_CITY = "jinan"
INDICATOR = "household_gigabit_coverage_pct"
ALERT = "GigabitIndicatorBelowThreshold"
LOAD_SHARE = 0.10
POLL_S = 0.005
PROBE_TIMEOUT_S = 10.0
SECRET = "bench-webhook-secret-0123456789"
FLOOR_STREAM = "bench:floor"
METRICS_GOAL = Goal(250.0, "value_at_most", "p99 <= 250 ms")
WEBHOOK_GOAL = Goal(1000.0, "value_at_most", "p99 <= 1 s")


@dataclass(frozen=True)
class Plan:
    probes: int
    capacity_probe_seconds: int
    """0: no probe; the background load is FIXED_CAPACITY / 10 (the tiny smoke run)."""


PLANS = {
    "tiny": Plan(probes=4, capacity_probe_seconds=0),
    "full": Plan(probes=80, capacity_probe_seconds=3),
}
FIXED_CAPACITY = 300.0
"""Reports/s assumed without a measurement: the low end of what one ingest did here."""


def run(report: Report, workdir: Path) -> None:
    plan = PLANS[report.size]
    cities = list(load_targets(None).cities)
    tokens_file = write_tokens_file(workdir / "tokens.yaml", cities)
    background = [(c, token_for(c)) for c in cities if c != PROBE_CITY]
    server = RedisServer(workdir / "redis").start()
    env = {
        "PACER_REDIS_URL": server.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": BENCH_CLOCK,
        "PACER_EVAL_INTERVAL": "1",
        "PACER_RESOLVE_HOLD": "0",
        "PACER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    }
    try:
        with _services(env, workdir) as (ingest, exporter), WebhookReceiver() as receiver:
            capacity, source = _capacity(report, ingest, background, plan, server)
            rate = capacity * LOAD_SHARE
            print(f"   background: {rate:,.0f} reports/s, a tenth of {capacity:,.0f}/s ({source})")
            _subscribe(ingest.url, receiver.url)
            probe = _Probe(ingest.url, exporter.url, receiver, server.url)
            result = asyncio.run(probe.measure(plan.probes, rate, background))
        report.extend(_figures(result, rate, source))
    finally:
        server.stop()


@contextlib.contextmanager
def _services(env: dict[str, str], workdir: Path) -> Iterator[tuple[Service, Service]]:
    names = ["ingest", "aggregator", "exporter", "alerting"]
    services = {name: Service(name, env, workdir / f"{name}.log") for name in names}
    try:
        for service in services.values():
            service.start(wait=False)
        for service in services.values():
            service.wait_ready(timeout=30)
        yield services["ingest"], services["exporter"]
    finally:
        for service in reversed(services.values()):
            service.stop()


def _capacity(
    report: Report,
    ingest: Service,
    credentials: list[tuple[str, str]],
    plan: Plan,
    server: RedisServer,
) -> tuple[float, str]:
    """The ingest benchmark's 1-instance 5G capacity, or a short wrk run against this ingest."""
    for figure in report.figures:
        if figure.benchmark == "ingest" and figure.name == CAPACITY_FIGURE:
            return figure.value, "the ingest benchmark's 5g-sites x1 capacity"
    if not plan.capacity_probe_seconds:
        return FIXED_CAPACITY, "a fixed assumed capacity (tiny run: not measured)"
    probe = wrk(
        need_binary("wrk"),
        [("127.0.0.1", ingest.port)],
        kind="5g-sites",
        tag=f"cap{time.time_ns()}",
        credentials=credentials,
        seconds=plan.capacity_probe_seconds,
    )
    # Let the aggregator work off what the probe wrote before anything is measured.
    store = redis.Redis(port=server.port)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _backlog(store) > 0:
        time.sleep(0.2)
    store.close()
    return (
        probe.rate,
        f"a {plan.capacity_probe_seconds} s wrk probe with the whole pipeline running",
    )


def _backlog(store: redis.Redis) -> int:
    groups: Any = store.xinfo_groups(names.REPORTS_STREAM)
    return max((int(g.get("lag") or 0) + int(g["pending"]) for g in groups), default=0)


def _subscribe(api: str, url: str) -> None:
    body = {
        "url": url,
        "secret": SECRET,
        "filters": {"cities": [PROBE_CITY], "programs": ["gigabit-2024"]},
        "send_resolved": True,
    }
    answer = httpx.post(
        f"{api}/v1/subscriptions",
        json=body,
        timeout=10,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    answer.raise_for_status()


@dataclass
class Measured:
    metrics: Latencies
    webhook: Latencies
    floor_seen: Latencies
    floor_webhook: Latencies
    missed: int
    load: LoadResult


class _Probe:
    def __init__(self, api: str, exporter: str, receiver: WebhookReceiver, redis_url: str) -> None:
        self.api = api
        self.exporter = exporter
        self.receiver = receiver
        self.redis_url = redis_url
        self.tag = f"probe{time.time_ns()}"

    async def measure(
        self, probes: int, rate: float, background: list[tuple[str, str]]
    ) -> Measured:
        stop = asyncio.Event()
        requests = open_loop_requests(
            [self._endpoint(self.api)], "5g-sites", f"{self.tag}bg", background
        )
        load = asyncio.create_task(open_loop(requests, rate=rate, seconds=3600, stop=stop))
        nothing = LoadResult(0, 0, Latencies(), 0)
        measured = Measured(Latencies(), Latencies(), Latencies(), Latencies(), 0, nothing)
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S) as client:
            await asyncio.sleep(1.0)  # the background load reaches its rate
            for number in range(-2, probes):  # two unmeasured probes settle the alert state
                seen = await self._one(client, number)
                if number < 0:
                    continue
                if seen is None:
                    measured.missed += 1
                    continue
                measured.metrics.add(seen[0])
                measured.webhook.add(seen[1])
            await self._floor(client, probes, measured)
        stop.set()
        measured.load = await load
        return measured

    @staticmethod
    def _endpoint(url: str) -> tuple[str, int]:
        parsed = httpx.URL(url)
        return parsed.host, int(parsed.port or 80)

    async def _one(self, client: httpx.AsyncClient, number: int) -> tuple[float, float] | None:
        """(accepted -> /metrics, accepted -> webhook) in seconds, or None if either never came."""
        loop = asyncio.get_running_loop()
        failing = number % 2 == 0
        value = (50.0 if failing else 95.0) + (number + 2) / 1000
        body = gigabit_body(f"{self.tag}p-{number + 2}", number, {INDICATOR: value})
        already = len(self.receiver.received)
        answer = await client.post(
            f"{self.api}/v1/cities/{PROBE_CITY}/reports/gigabit",
            json=body,
            headers={"Authorization": f"Bearer {token_for(PROBE_CITY)}"},
        )
        accepted = loop.time()
        if answer.status_code != 202:
            raise RuntimeError(f"probe report refused: {answer.status_code} {answer.text}")
        deadline = accepted + PROBE_TIMEOUT_S
        visible: float | None = None
        while loop.time() < deadline:
            scrape = await client.get(f"{self.exporter}/metrics")
            if _gauge(scrape.text) == value:
                visible = loop.time()
                break
            await asyncio.sleep(POLL_S)
        expected = "firing" if failing else "resolved"
        hook: Received | None = None
        while loop.time() < deadline:
            hook = next((r for r in self.receiver.received[already:] if _is(r, expected)), None)
            if hook is not None:
                break
            await asyncio.sleep(POLL_S)
        if visible is None or hook is None:
            return None
        return visible - accepted, hook.at - accepted

    async def _floor(self, client: httpx.AsyncClient, probes: int, measured: Measured) -> None:
        """One hop through Redis, then a signed POST to the same receiver."""
        loop = asyncio.get_running_loop()
        redis_client: Redis = Redis.from_url(self.redis_url)
        last_id = "0-0"  # explicit ids: an XREAD that reaches Redis after the XADD still sees it
        try:
            for number in range(probes):
                receiving = asyncio.create_task(_next_entries(redis_client, last_id))
                await asyncio.sleep(0.002)  # the XREAD is parked in Redis before the XADD
                already = len(self.receiver.received)
                sent = loop.time()
                await redis_client.xadd(FLOOR_STREAM, {"n": str(number)})
                entries = await receiving
                seen = loop.time()
                last_id = entries[0][1][-1][0]
                body = json.dumps({"n": number}).encode()
                signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                await client.post(
                    self.receiver.url,
                    content=body,
                    headers={"X-Pacer-Signature": f"sha256={signature}"},
                )
                arrived = self.receiver.received[already].at
                measured.floor_seen.add(seen - sent)
                measured.floor_webhook.add(arrived - sent)
        finally:
            await redis_client.aclose()


async def _next_entries(client: Redis, last_id: str) -> Any:
    """The floor's consumer: blocked in XREAD until an entry after ``last_id`` arrives."""
    return await client.xread({FLOOR_STREAM: last_id}, block=int(PROBE_TIMEOUT_S * 1000))


def _gauge(text: str) -> float | None:
    """The probe city's household coverage on an exporter scrape."""
    for line in text.splitlines():
        if line.startswith("pacer_gigabit_indicator_value{"):
            labels, _, sample = line.rpartition(" ")
            if f'city="{PROBE_CITY}"' in labels and f'indicator="{INDICATOR}"' in labels:
                return float(sample)
    return None


def _is(received: Received, status: str) -> bool:
    """A webhook that says the probe's alert is ``status`` (firing or resolved)."""
    with contextlib.suppress(ValueError, KeyError, TypeError):
        for alert in received.json()["alerts"]:
            labels = alert["labels"]
            if (
                alert["status"] == status
                and labels["alertname"] == ALERT
                and labels.get("indicator") == INDICATOR
            ):
                return True
    return False


def _figures(m: Measured, rate: float, source: str) -> list[Figure]:
    floor = "XADD -> XREAD (same Redis)"
    relay = "XADD -> XREAD -> signed POST"
    load = (
        f"background {rate:,.0f} 5G reports/s ({LOAD_SHARE:.0%} of {source}): "
        f"{m.load.describe()}; probes: {m.metrics.total} measured, {m.missed} missed"
    )

    def figure(
        name: str, ours: Latencies, base: Latencies, p: float, what: str, goal: Goal | None = None
    ) -> Figure:
        return Figure(
            "latency",
            name,
            ours.percentile_ms(p),
            "ms",
            base.percentile_ms(p),
            what,
            higher_is_better=False,
            goal=goal,
            notes=load,
        )

    return [
        figure("accepted -> /metrics p50", m.metrics, m.floor_seen, 50, floor),
        figure("accepted -> /metrics p99", m.metrics, m.floor_seen, 99, floor, METRICS_GOAL),
        figure("accepted -> webhook p50", m.webhook, m.floor_webhook, 50, relay),
        figure("accepted -> webhook p99", m.webhook, m.floor_webhook, 99, relay, WEBHOOK_GOAL),
    ]
