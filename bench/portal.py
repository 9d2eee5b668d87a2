"""Portal: how long a page takes with 16 cities and two years of history, beside the API calls
it wraps.

The clock stands in mid-January 2026: every city has reported its sites for each month of
2024-2025 and its gigabit indicators for 2024, through ingest and the aggregator (real
processes), so each history runs 24 months and the calendars are full. A signed-in client then
asks the portal for a city page and the province page, one request at a time; the baseline is
the same API calls the page makes, issued as the portal issues them (concurrently), so the
difference is what the portal adds: its HTTP hop, the chart, the templates.

Figures (p95 in ms, the goal from issue 14: a page within 300 ms):
- city page ``/cities/jinan``; baseline: its progress, 3 histories, reports and alerts;
- province page ``/province``; baseline: ``/v1/progress`` and ``/v1/alerts``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.bulk import wait_all_applied
from bench.harness import (
    ADMIN_TOKEN,
    Figure,
    Goal,
    RedisServer,
    Report,
    Service,
    pacer_env,
    profiled,
    token_for,
    write_tokens_file,
)
from shared.targets import DEFAULT_TARGETS_FILE, load_targets

CLOCK = "fixed:2026-01-15T12:00:00+08:00"
SIZES = {"tiny": (20, 20), "full": (200, 300)}
"""size -> (page requests per figure, sites per city and month)."""
GOAL = Goal(300.0, "value_at_most", "p95 <= 300 ms")
MONTHS = [f"{year}-{month:02d}" for year in (2024, 2025) for month in range(1, 13)]
LAST_DAY = {2: 28, 4: 30, 6: 30, 9: 30, 11: 30}
CITY = "jinan"


def _as_of(month: str) -> str:
    year, number = map(int, month.split("-"))
    day = 29 if number == 2 and year % 4 == 0 else LAST_DAY.get(number, 31)
    return f"{month}-{day:02d}"


def _load(api: str, cities: list[str], sites_per_month: int) -> list[tuple[str, str]]:
    """Every city's 24 monthly site reports and 12 gigabit reports; (city, report id) each."""
    posted = []
    with httpx.Client(base_url=api, timeout=60) as client:
        for city in cities:
            headers = {"Authorization": f"Bearer {token_for(city)}"}
            for index, month in enumerate(MONTHS):
                as_of = _as_of(month)
                sites = [
                    {"site_id": f"{city}-{index:02d}-{n:05d}", "operator": "china_mobile",
                     "status": "in_service", "commissioned_on": as_of, "lat": 36.6, "lon": 117.1}
                    for n in range(sites_per_month)
                ]  # fmt: skip
                bodies: list[tuple[str, dict[str, Any]]] = [
                    ("5g-sites", {"period": month, "as_of": as_of, "sites": sites})
                ]
                if month.startswith("2024"):
                    indicators = {"household_gigabit_coverage_pct": 90.0 + index}
                    indicators["bs_5g_per_10k"] = 20.0
                    gigabit = {"period": month, "as_of": as_of, "indicators": indicators}
                    bodies.append(("gigabit", gigabit))
                for kind, body in bodies:
                    report_id = f"{city}-{kind}-{month}"
                    answer = client.post(
                        f"/v1/cities/{city}/reports/{kind}",
                        json={"report_id": report_id, **body},
                        headers=headers,
                    )
                    if answer.status_code not in (200, 202):
                        raise SystemExit(f"portal: {report_id}: {answer.status_code} {answer.text}")
                    posted.append((city, report_id))
    return posted


def _signed_in(portal: str) -> httpx.Client:
    client = httpx.Client(base_url=portal, timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
    assert token is not None
    answer = client.post("/signin", data={"csrf_token": token.group(1), "token": ADMIN_TOKEN})
    if answer.status_code != 303:
        raise SystemExit(f"portal: sign-in answered {answer.status_code}")
    return client


def _timed_pages(client: httpx.Client, path: str, times: int) -> list[float]:
    client.get(path)  # warm: templates compiled, connections open
    taken = []
    for _ in range(times):
        started = time.perf_counter()
        answer = client.get(path)
        taken.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"portal: {path} answered {answer.status_code}")
    return taken


def _timed_api(api: str, paths: list[str], times: int) -> list[float]:
    """The page's API calls, concurrently as the portal makes them, ``times`` over."""

    async def measure() -> list[float]:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(base_url=api, headers=headers, timeout=30) as client:
            await asyncio.gather(*(client.get(path) for path in paths))
            taken = []
            for _ in range(times):
                started = time.perf_counter()
                answers = await asyncio.gather(*(client.get(path) for path in paths))
                taken.append((time.perf_counter() - started) * 1000)
                bad = [a.url for a in answers if a.status_code != 200]
                if bad:
                    raise SystemExit(f"portal: the API answered an error for {bad}")
            return taken

    return asyncio.run(measure())


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def run(report: Report, workdir: Path) -> None:
    times, sites_per_month = SIZES[report.size]
    targets = load_targets(None)
    cities = list(targets.cities)
    tokens = write_tokens_file(workdir / "tokens.yaml", cities)
    server = RedisServer(workdir / "redis").start()
    env = pacer_env(server, DEFAULT_TARGETS_FILE, tokens, PACER_CLOCK=CLOCK)
    ingest = Service("ingest", env, workdir / "ingest.log").start()
    aggregator = Service("aggregator", env, workdir / "aggregator.log").start()
    portal = Service("portal", env | {"PACER_API_URL": ingest.url}, workdir / "portal.log")
    try:
        portal.start()
        started = time.perf_counter()
        posted = _load(ingest.url, cities, sites_per_month)
        store = redis.Redis(port=server.port)
        wait_all_applied(store, posted, timeout_s=600)
        store.close()
        print(f"   loaded {len(posted)} reports in {time.perf_counter() - started:.0f} s")
        programs = [program.id for program in targets.programs]
        city_api = [f"/v1/cities/{CITY}/progress", "/v1/alerts", f"/v1/cities/{CITY}/reports"]
        city_api += [f"/v1/cities/{CITY}/history?program={p}" for p in programs]
        pages = {
            "city page": (f"/cities/{CITY}", city_api),
            "province page": ("/province", ["/v1/progress", "/v1/alerts"]),
        }
        client = _signed_in(portal.url)
        with contextlib.closing(client), profiled("portal", [portal, ingest]):
            for name, (path, api_paths) in pages.items():
                page_ms = _timed_pages(client, path, times)
                api_ms = _timed_api(ingest.url, api_paths, times)
                report.add(
                    Figure(
                        "portal",
                        f"{name} p95 ({len(MONTHS)} months, 16 cities)",
                        round(_p95(page_ms), 1),
                        "ms",
                        baseline=round(_p95(api_ms), 1),
                        baseline_name="the API calls it wraps",
                        higher_is_better=False,
                        goal=GOAL,
                        notes=f"p50 {statistics.median(page_ms):.1f} ms, "
                        f"API p50 {statistics.median(api_ms):.1f} ms",
                    )
                )
    finally:
        portal.stop()
        aggregator.stop()
        ingest.stop()
        server.stop()
