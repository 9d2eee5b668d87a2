"""The history reads at scale (part of ``scale``): ``GET /v1/cities/{city}/history`` and
``GET /v1/history`` over the 24 months of 5g-2025, beside ``GET /v1/progress``, on the state
``scale`` loaded.

``scale`` loads every site as commissioned on one day of one June report. A history's cost
depends on how many days carry sites (each month sums them and projects from them) and how many
months are reported, so before these reads each city's per-day counts are spread over the 730
days of 2024-2025 (the same total) and its 5g-sites reports marked received for every month, as
two years of monthly reports would leave them; the ingest runs on a clock in January 2026, when
5g-2025 is judged final at 2025-12-31. The per-site records are untouched: no read here uses them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import redis

from shared import names
from shared.domain.calendar import Period
from shared.domain.state import ReportKind

HISTORY_CLOCK = "fixed:2026-01-15T12:00:00+08:00"
"""December 2025's reports are past due: D = 2025-12-31 and 5g-2025 has 24 monthly rows."""
FIRST_DAY = date(2024, 1, 1)
DAYS = 731  # 2024-01-01 .. 2025-12-31
PROGRAM = "5g-2025"


@dataclass(frozen=True)
class Reads:
    city_history_ms: list[float]
    province_history_ms: list[float]
    progress_ms: list[float]
    rows: int
    """Rows of the province's history (24 expected)."""


def spread_over_two_years(client: redis.Redis, cities: list[str], sites_per_city: int) -> None:
    """Each city's sites spread evenly over 2024-2025 and every month reported on time."""
    months = []
    month = Period.of(FIRST_DAY)
    while month <= Period(2025, 12):
        months.append(month)
        month = month.next()
    received = {
        str(m): str(datetime(m.next().year, m.next().month, 5, 2, tzinfo=UTC).timestamp())
        for m in months
    }
    days = [(FIRST_DAY + timedelta(days=d)).isoformat() for d in range(DAYS)]
    for city in cities:
        pipe = client.pipeline(transaction=False)
        pipe.delete(names.city_site_days_key(city))
        pipe.hset(
            names.city_site_days_key(city),
            mapping={
                day: sites_per_city // DAYS + (1 if d < sites_per_city % DAYS else 0)
                for d, day in enumerate(days)
            },
        )
        pipe.sadd(names.city_periods_key(city, ReportKind.SITES), *received)
        pipe.hset(
            names.city_period_received_key(city, ReportKind.SITES),
            mapping={month: stamp for month, stamp in received.items()},
        )
        pipe.hset(names.city_latest_as_of_key(city), ReportKind.SITES, "2025-12-31")
        pipe.execute()


def _timed(http: httpx.Client, path: str, times: int, **params: str) -> list[float]:
    http.get(path, params=params).raise_for_status()  # warm-up
    durations = []
    for _ in range(times):
        started = time.perf_counter()
        response = http.get(path, params=params)
        durations.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return durations


def measure_reads(url: str, token: str, city: str, times: int) -> Reads:
    """Each read ``times`` times in turn, one request at a time."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        rows = len(http.get("/v1/history", params={"program": PROGRAM}).json()["rows"])
        return Reads(
            city_history_ms=_timed(http, f"/v1/cities/{city}/history", times, program=PROGRAM),
            province_history_ms=_timed(http, "/v1/history", times, program=PROGRAM),
            progress_ms=_timed(http, "/v1/progress", times),
            rows=rows,
        )
