"""The load: concurrent city clients submitting reports and logging what the API answered.

Each client keeps its own log. A report answered 202 is accepted; on a 503, a 429, a 5xx, a
refused connection or a timeout the client sends the SAME report id and body again (contract §3)
until it gets an answer, so a 200 "duplicate" on such a retry means an earlier attempt got through
and the report counts as accepted too. Some reports already answered 202 are re-sent on purpose:
they must be answered 200 "duplicate", never 202 again. Site updates re-report a site the client
sent before with another band, never another status or commissioning day, so the counts (and with
them the alerts) only ever grow during a run: a fixed clock then gives one final alert set.
"""

from __future__ import annotations

import asyncio
import calendar
import random
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from shared.domain.targets import Targets

NOW = "2025-06-15T12:00:00+08:00"
"""The services' fixed clock: reports for 2024-01 .. 2025-05 are valid, 2025-05 is due."""
PERIODS = [f"{year}-{month:02d}" for year in (2024, 2025) for month in range(1, 13)][:17]
LATEST_PERIOD = PERIODS[-1]
BANDS = ("n28", "n41", "n78", "n79")
OPERATORS = ("china_mobile", "china_unicom", "china_telecom", "china_broadnet")
PASSING = {
    "household_gigabit_coverage_pct": (85.0, 140.0),
    "pon_10g_port_share_pct": (26.0, 60.0),
    "key_location_5g_reach_pct": (81.0, 99.0),
    "bs_5g_per_10k": (13.0, 30.0),
    "bb_500m_user_share_pct": (28.0, 60.0),
    "user_5g_share_pct": (28.0, 70.0),
}
"""Every thresholded indicator, within its passing range (shared/targets/default.yaml)."""
FAILING_COVERAGE = (40.0, 79.0)
"""The one city that always reports household coverage under its threshold (80, rule ">")."""
RETRY_DELAY_S = (0.05, 0.5)
REQUEST_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Report:
    report_id: str
    city: str
    kind: str
    """The path segment: ``5g-sites`` or ``gigabit``."""
    body: dict[str, Any]

    @property
    def site_ids(self) -> list[str]:
        return [site["site_id"] for site in self.body.get("sites", [])]

    @property
    def indicator_count(self) -> int:
        return len(self.body.get("indicators", {}))


@dataclass
class ClientLog:
    """What one client sent and what it was told."""

    accepted: list[Report] = field(default_factory=list)
    """Answered 202, or 200 "duplicate" on a retry of a report not yet answered."""
    unresolved: list[Report] = field(default_factory=list)
    """Still without an answer when the run ended: the server may or may not have it."""
    rejected: list[tuple[Report, int, str]] = field(default_factory=list)
    """A 4xx other than 429: the generator made an invalid report (a bug in the soak)."""
    sent: int = 0
    """Distinct reports sent (intentional re-sends not counted)."""
    requests: int = 0
    retries: int = 0
    retry_reasons: dict[str, int] = field(default_factory=dict)
    """``503 <error code>``, another status, or the transport error's name -> how many."""
    retry_times: list[tuple[float, str]] = field(default_factory=list)
    """(monotonic time, reason) of every answer that made the client retry."""
    duplicates_sent: int = 0
    duplicates_answered_duplicate: int = 0
    duplicates_answered_accepted: int = 0
    """An intentional re-send answered 202: the same report accepted twice (must be 0)."""
    accepted_on_retry: int = 0


class ReportFactory:
    """Valid reports (contract §3) for one client, from its own seeded generator."""

    def __init__(self, targets: Targets, client: int, rng: random.Random, run_id: str) -> None:
        self._cities = sorted(targets.cities)
        self._failing_city = self._cities[-1]
        self._client = client
        self._rng = rng
        self._run_id = run_id
        self._count = 0
        self._sites_sent: dict[str, list[dict[str, Any]]] = {}

    def next(self) -> Report:
        self._count += 1
        report_id = f"soak-{self._run_id}-c{self._client}-{self._count}"
        city = self._rng.choice(self._cities)
        roll = self._rng.random()
        if roll < 0.3:
            return Report(report_id, city, "gigabit", self._gigabit_body(report_id, city))
        if roll < 0.4 and self._sites_sent.get(city):
            return Report(report_id, city, "5g-sites", self._update_body(report_id, city))
        return Report(report_id, city, "5g-sites", self._sites_body(report_id, city))

    def _period(self) -> tuple[str, date, date]:
        period = self._rng.choice(PERIODS)
        year, month = (int(part) for part in period.split("-"))
        first = date(year, month, 1)
        return period, first, date(year, month, calendar.monthrange(year, month)[1])

    def _sites_body(self, report_id: str, city: str) -> dict[str, Any]:
        period, first, last = self._period()
        sites = []
        for index in range(self._rng.randint(1, 20)):
            day = first.replace(day=self._rng.randint(1, last.day))
            sites.append(
                {
                    "site_id": f"{city}-{self._run_id}-c{self._client}-{self._count}-{index}",
                    "operator": self._rng.choice(OPERATORS),
                    "status": "in_service",
                    "commissioned_on": day.isoformat(),
                    "lat": round(self._rng.uniform(35.0, 37.5), 5),
                    "lon": round(self._rng.uniform(115.5, 121.5), 5),
                    "district": f"district-{self._rng.randint(1, 9)}",
                    "band": self._rng.choice(BANDS),
                }
            )
        self._sites_sent.setdefault(city, []).extend(sites)
        body = {"period": period, "as_of": last.isoformat(), "sites": sites}
        return {"report_id": report_id, **body}

    def _update_body(self, report_id: str, city: str) -> dict[str, Any]:
        """Sites sent before, with another band; reported for the latest month (as_of after any
        commissioning day), so the count and commissioning days stay as they were."""
        known = self._sites_sent[city]
        chosen = self._rng.sample(known, k=min(len(known), self._rng.randint(1, 5)))
        sites = [site | {"band": self._rng.choice(BANDS)} for site in chosen]
        return {
            "report_id": report_id,
            "period": LATEST_PERIOD,
            "as_of": "2025-05-31",
            "sites": sites,
        }

    def _gigabit_body(self, report_id: str, city: str) -> dict[str, Any]:
        period, first, last = self._period()
        indicators = {key: round(self._rng.uniform(*bounds), 2) for key, bounds in PASSING.items()}
        if city == self._failing_city:
            indicators["household_gigabit_coverage_pct"] = round(
                self._rng.uniform(*FAILING_COVERAGE), 2
            )
        indicators["bb_1000m_users"] = float(self._rng.randint(100_000, 2_000_000))
        as_of = first.replace(day=self._rng.randint(1, last.day))
        return {
            "report_id": report_id,
            "period": period,
            "as_of": as_of.isoformat(),
            "indicators": indicators,
        }


async def run_client(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    factory: ReportFactory,
    rng: random.Random,
    log: ClientLog,
    stop: asyncio.Event,
    give_up_at: list[float],
    duplicate_share: float = 0.05,
    pause_s: float = 0,
) -> None:
    """Submit reports until ``stop`` is set, then finish the one in flight; a report still
    without an answer at ``give_up_at[0]`` (monotonic) is logged as unresolved."""
    while not stop.is_set():
        if pause_s:
            await asyncio.sleep(pause_s)
        if log.accepted and rng.random() < duplicate_share:
            await _resend(api, tokens, rng.choice(log.accepted), rng, log, give_up_at)
            continue
        report = factory.next()
        log.sent += 1
        outcome = await _submit_until_answered(api, tokens, report, rng, log, give_up_at)
        if outcome in (202, 200):
            log.accepted.append(report)
            if outcome == 200:
                log.accepted_on_retry += 1
        elif outcome is None:
            log.unresolved.append(report)


async def _resend(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    report: Report,
    rng: random.Random,
    log: ClientLog,
    give_up_at: list[float],
) -> None:
    log.duplicates_sent += 1
    outcome = await _submit_until_answered(api, tokens, report, rng, log, give_up_at)
    if outcome == 200:
        log.duplicates_answered_duplicate += 1
    elif outcome == 202:
        log.duplicates_answered_accepted += 1


async def _submit_until_answered(
    api: httpx.AsyncClient,
    tokens: dict[str, str],
    report: Report,
    rng: random.Random,
    log: ClientLog,
    give_up_at: list[float],
) -> int | None:
    """202, 200 (a duplicate: an earlier attempt got through), a 4xx (logged as rejected), or
    None if no answer came before ``give_up_at``."""
    url = f"/v1/cities/{report.city}/reports/{report.kind}"
    headers = {"Authorization": f"Bearer {tokens[report.city]}"}
    first = True
    while time.monotonic() < give_up_at[0]:
        if not first:
            log.retries += 1
        first = False
        log.requests += 1
        delay = rng.uniform(*RETRY_DELAY_S)
        try:
            response = await api.post(url, json=report.body, headers=headers)
        except httpx.TransportError as exc:  # refused, reset, timed out: the outcome is unknown
            reason = type(exc).__name__
        else:
            if response.status_code in (200, 202):
                return response.status_code
            if response.status_code == 429:
                delay = max(delay, float(response.headers.get("Retry-After", "0") or 0))
            elif response.status_code < 500:
                log.rejected.append((report, response.status_code, response.text[:500]))
                return response.status_code
            reason = _reason(response)
        log.retry_reasons[reason] = log.retry_reasons.get(reason, 0) + 1
        log.retry_times.append((time.monotonic(), reason))
        await asyncio.sleep(min(delay, max(0.0, give_up_at[0] - time.monotonic())))
    return None


def _reason(response: httpx.Response) -> str:
    """``503 storage_unavailable``: the status and, when the body says, the error code."""
    try:
        code = response.json()["errors"][0]["code"]
    except (ValueError, LookupError, TypeError):
        return str(response.status_code)
    return f"{response.status_code} {code}"
