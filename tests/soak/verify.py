"""The end checks: after the load stops and the system drains, is every accepted report applied
exactly once, is nothing stuck, do the active alerts match the state, and was no alert transition
notified twice?

"Applied exactly once" is read from three places: the report's record (status ``applied``), the
city's site hash and per-day counts (each distinct accepted site exactly once, nothing else), and
the gigabit history list, which gets one line per indicator each time a report is applied.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from redis.asyncio import Redis

from shared import names
from shared.domain.alerts import evaluate_alerts
from shared.domain.targets import Targets
from shared.store.alerts import read_active_alerts
from shared.store.sites import RedisSites
from shared.store.state import read_city_states
from shared.store.streams import read_stream_stats
from tests.soak.load import Report
from tests.support.webhooks import Received

APPLIED = "applied"


@dataclass
class Verdict:
    applied: int = 0
    lost: int = 0
    """Accepted reports not applied, and accepted sites or indicator values missing."""
    duplicated: int = 0
    """Reports or sites counted more than once, and re-sends accepted a second time."""
    lost_examples: list[str] = field(default_factory=list)
    duplicated_examples: list[str] = field(default_factory=list)
    sites_expected: int = 0
    sites_stored: int = 0
    unexpected_sites: int = 0
    """Stored sites no accepted (or unresolved-but-stored) report carries."""
    pending: dict[str, int] = field(default_factory=dict)
    lag: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    deliveries_due: int = 0
    alerts_expected: int = 0
    alerts_active: int = 0
    alerts_api: int = 0
    alerts_mismatch: list[str] = field(default_factory=list)
    notifications_received: int = 0
    notifications_distinct: int = 0
    notifications_redelivered: int = 0
    transitions_notified: int = 0
    """Alert transitions in the distinct deliveries (a delivery carries one group's)."""
    double_notifications: list[str] = field(default_factory=list)
    """Transitions (fingerprint, status, startsAt) that arrived under two delivery ids, or twice
    in one."""
    misgrouped: list[str] = field(default_factory=list)
    """Deliveries whose alerts are not all of the group their ``groupLabels`` name."""
    notifications_truncated: int = 0
    """Bodies shorter than their Content-Length: the sender was killed mid-request. A receiver
    drops them (the signature cannot match) and the retry brings the same delivery id."""
    bad_signatures: int = 0
    bad_signature_examples: list[str] = field(default_factory=list)
    notification_mismatch: list[str] = field(default_factory=list)
    """Active alerts with no firing received, or gone ones with no resolution received."""

    @property
    def failures(self) -> list[str]:
        found = []
        if self.lost:
            found.append(f"lost {self.lost}: {self.lost_examples[:5]}")
        if self.duplicated:
            found.append(f"duplicated {self.duplicated}: {self.duplicated_examples[:5]}")
        if self.unexpected_sites:
            found.append(f"{self.unexpected_sites} stored sites no accepted report carries")
        if any(self.pending.values()) or any(self.lag.values()):
            found.append(f"streams not drained: pending {self.pending}, lag {self.lag}")
        if self.dead_letters:
            found.append(f"{self.dead_letters} dead letters")
        if self.deliveries_due:
            found.append(f"{self.deliveries_due} webhook deliveries still due")
        if self.alerts_mismatch:
            found.append(f"active alerts differ from the state's: {self.alerts_mismatch[:5]}")
        if self.double_notifications:
            found.append(f"notified twice: {self.double_notifications[:5]}")
        if self.misgrouped:
            found.append(f"deliveries mixing groups: {self.misgrouped[:5]}")
        if self.bad_signatures:
            found.append(
                f"{self.bad_signatures} webhooks with a bad signature: "
                f"{self.bad_signature_examples[:3]}"
            )
        if self.notification_mismatch:
            found.append(f"notifications disagree with alerts: {self.notification_mismatch[:5]}")
        return found


async def wait_drained(redis: Redis, accepted: list[Report], timeout_s: float) -> float:
    """Seconds until every group is caught up, every accepted report is applied and no webhook
    is due; at most ``timeout_s`` (the checks then report what is still stuck)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if await _drained(redis, accepted):
                return round(time.monotonic() - started, 2)
        except OSError:  # Redis may still be restarting
            pass
        await asyncio.sleep(0.5)
    return round(time.monotonic() - started, 2)


async def _drained(redis: Redis, accepted: list[Report]) -> bool:
    stats = await read_stream_stats(redis)
    if any(g.pending or g.lag for g in stats.groups):
        return False
    if await redis.zcard(names.DELIVERIES_DUE_KEY):
        return False
    statuses = await _statuses(redis, accepted)
    return all(status == APPLIED for status in statuses.values())


async def _statuses(redis: Redis, reports: list[Report]) -> dict[str, str | None]:
    """Report id (unique across a soak run) -> status of its record."""
    async with redis.pipeline(transaction=False) as pipe:
        for report in reports:
            pipe.hget(names.report_key(report.city, report.report_id), "status")
        statuses = await pipe.execute()
    return dict(zip((r.report_id for r in reports), statuses, strict=True))


async def check_reports(
    redis: Redis, verdict: Verdict, accepted: list[Report], unresolved: list[Report]
) -> None:
    statuses = await _statuses(redis, accepted)
    for report_id, status in statuses.items():
        if status == APPLIED:
            verdict.applied += 1
        else:
            verdict.lost += 1
            verdict.lost_examples.append(f"report {report_id}: {status}")
    # An unanswered report may have reached the server: if it did, its sites are expected too.
    stored_unresolved = await _statuses(redis, unresolved)
    carrying = accepted + [r for r in unresolved if stored_unresolved[r.report_id]]
    await _check_sites(redis, verdict, carrying)
    await _check_gigabit_history(redis, verdict, accepted)


async def _check_sites(redis: Redis, verdict: Verdict, reports: list[Report]) -> None:
    expected: dict[str, set[str]] = defaultdict(set)
    for report in reports:
        expected[report.city].update(report.site_ids)
    family = RedisSites(redis)
    for city, sites in expected.items():
        found = await family.stored(sorted(sites))
        stored = {s for s, held in found.items() if held.owner == city and held.facts}
        held_by_city = await family.registered(city)
        days = await redis.hgetall(names.city_site_days_key(city))
        by_day_total = sum(int(n) for n in days.values())
        verdict.sites_expected += len(sites)
        verdict.sites_stored += held_by_city
        missing = sites - stored
        verdict.lost += len(missing)
        verdict.lost_examples += [f"site {s}" for s in sorted(missing)[:3]]
        verdict.unexpected_sites += held_by_city - len(stored)
        if by_day_total != held_by_city:
            # Every soak site is in service: the per-day counts must add up to the sites held.
            verdict.duplicated += abs(by_day_total - held_by_city)
            verdict.duplicated_examples.append(
                f"{city}: per-day counts sum to {by_day_total}, {held_by_city} sites stored"
            )


async def _check_gigabit_history(redis: Redis, verdict: Verdict, reports: list[Report]) -> None:
    """One history line per indicator per application: more is a report applied twice."""
    gigabit = [r for r in reports if r.kind == "gigabit"]
    for city in {r.city for r in gigabit}:
        lines = await redis.lrange(names.city_indicator_history_key(city), 0, -1)
        per_report = Counter(line.rsplit("\t", 1)[-1] for line in lines)
        for report in (r for r in gigabit if r.city == city):
            seen = per_report.get(report.report_id, 0)
            if seen > report.indicator_count:
                verdict.duplicated += 1
                verdict.duplicated_examples.append(
                    f"report {report.report_id}: {seen} history lines for "
                    f"{report.indicator_count} indicators"
                )
            elif seen < report.indicator_count:
                verdict.lost += 1
                verdict.lost_examples.append(f"report {report.report_id}: {seen} history lines")


async def check_pipeline(redis: Redis, verdict: Verdict) -> None:
    stats = await read_stream_stats(redis)
    for group in stats.groups:
        key = f"{group.stream}/{group.group}"
        verdict.pending[key] = group.pending
        verdict.lag[key] = group.lag
    verdict.dead_letters = stats.lengths[names.DEAD_LETTER_STREAM]
    verdict.deliveries_due = int(await redis.zcard(names.DELIVERIES_DUE_KEY))


async def check_alerts(
    redis: Redis,
    verdict: Verdict,
    targets: Targets,
    now: datetime,
    api: httpx.AsyncClient,
    token: str,
    settle_s: float,
) -> set[str]:
    """Compares the stored active alerts (and ``GET /v1/alerts``) with what the domain rules give
    for the final state at the services' instant; returns the expected fingerprints.

    The resolve hold is 0 and the clock fixed, so after one evaluation of the final state the two
    are equal; the alerting service evaluates every 0.5 s, so this waits up to ``settle_s``.
    """
    started = time.monotonic()
    while True:
        states = await read_city_states(
            redis, list(targets.cities), judging_up_to=targets.gigabit.deadline
        )
        expected = {alert.fingerprint: alert for alert in evaluate_alerts(targets, states, now)}
        active = await read_active_alerts(redis)
        if expected.keys() == active.keys() or time.monotonic() - started > settle_s:
            break
        await asyncio.sleep(0.5)
    response = await api.get("/v1/alerts", headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    listed = {_fingerprint(item) for item in _alert_items(response.json())}
    verdict.alerts_expected = len(expected)
    verdict.alerts_active = len(active)
    verdict.alerts_api = len(listed)
    for fp in sorted(expected.keys() - active.keys()):
        verdict.alerts_mismatch.append(f"missing {expected[fp].labels}")
    for fp in sorted(active.keys() - expected.keys()):
        verdict.alerts_mismatch.append(f"extra {active[fp].alert.labels}")
    if listed != active.keys():
        verdict.alerts_mismatch.append(f"GET /v1/alerts lists {len(listed)}, Redis {len(active)}")
    return set(expected)


def _alert_items(doc: Any) -> list[dict[str, Any]]:
    return list(doc["alerts"] if isinstance(doc, dict) else doc)


def _fingerprint(item: dict[str, Any]) -> str:
    return str(item["fingerprint"])


def check_notifications(
    verdict: Verdict, received: list[Received], active: set[str], secret: str
) -> None:
    """At most one delivery id per transition, and each transition once in it; the same id again
    is a redelivery (at-least-once after a crash between POST and acknowledgement) that the
    receiver drops. A delivery carries the alerts of one group (alertname, program)."""
    ids_by_transition: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    seen_ids: set[str] = set()
    statuses: dict[str, set[str]] = defaultdict(set)
    for request in received:
        verdict.notifications_received += 1
        if len(request.body) < int(request.headers.get("content-length", "0")):
            verdict.notifications_truncated += 1
            continue
        expected_signature = (
            "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        )
        if not hmac.compare_digest(
            request.headers.get("x-pacer-signature", ""), expected_signature
        ):
            verdict.bad_signatures += 1
            verdict.bad_signature_examples.append(
                f"delivery {request.headers.get('x-pacer-delivery')}: {request.body[:200]!r}"
            )
            continue
        delivery = request.headers.get("x-pacer-delivery", "")
        if delivery in seen_ids:
            verdict.notifications_redelivered += 1
            continue
        seen_ids.add(delivery)
        body = request.json()
        for alert in body["alerts"]:
            transition = (alert["fingerprint"], alert["status"], alert["startsAt"])
            ids_by_transition[transition].append(delivery)
            statuses[alert["fingerprint"]].add(alert["status"])
            verdict.transitions_notified += 1
            group = {
                k: alert["labels"][k] for k in ("alertname", "program") if k in alert["labels"]
            }
            if group != body["groupLabels"]:
                verdict.misgrouped.append(f"delivery {delivery}: {group} in {body['groupLabels']}")
    verdict.notifications_distinct = len(seen_ids)
    for transition, ids in sorted(ids_by_transition.items()):
        if len(ids) > 1:
            verdict.double_notifications.append(f"{transition}: {len(ids)} times ({set(ids)})")
    for fp in sorted(active):
        if "firing" not in statuses.get(fp, set()):
            verdict.notification_mismatch.append(f"{fp} active, no firing received")
    for fp, seen in sorted(statuses.items()):
        if fp not in active and "resolved" not in seen:
            verdict.notification_mismatch.append(f"{fp} gone, no resolution received")
