"""Runs the apply scripts: the only code that changes the aggregated state."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from shared import names
from shared.domain.state import ReportKind
from shared.store import indicators
from shared.store.reports import apply_scripts
from shared.store.reports.records import adopt_legacy_record
from shared.store.sites import RedisSites, SitesStoreUpgradingError, calls
from shared.store.sites.encoding import compact_version
from shared.wire import GigabitReport, ReportEnvelope, SitesReport


@dataclass(frozen=True)
class Outcome:
    """What applying one entry did: applied (with its summary), already done, or rejected (with
    how many errors the report's record lists)."""

    result: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0


def entry_version(as_of: str, entry_id: str) -> str:
    """Orders reports by as_of, then by arrival; fixed width so Lua can compare strings."""
    millis, _, sequence = entry_id.partition("-")
    return f"{as_of}/{int(millis):015d}-{int(sequence or 0):010d}"


UPGRADE_WAIT_S = 10.0
"""How long a 5G report waits for ``pacer migrate`` before its attempt counts as failed (it stays
pending; the reclaimer retries it after ``PACER_RECLAIM_IDLE_MS``). Below the default 30 s idle
time, so the reclaimer does not take the entry from a consumer still waiting on it."""
UPGRADE_POLL_S = 0.25


class ReportApplier:
    def __init__(
        self,
        redis: Redis,
        group: str = names.AGGREGATOR_GROUP,
        max_sites_per_city: int = 0,
        upgrade_wait_s: float = UPGRADE_WAIT_S,
    ) -> None:
        """``max_sites_per_city``: reject a report that would take its city past this many
        registered site ids (0: no bound). ``upgrade_wait_s``: how long a 5G report waits for a
        migration of the sites to end before the attempt fails."""
        self._redis = redis
        self._group = group
        self._max_sites_per_city = max_sites_per_city
        self._upgrade_wait_s = upgrade_wait_s
        self._sites = RedisSites(redis)
        self._apply_sites = redis.register_script(apply_scripts.APPLY_SITES)
        self._apply_gigabit = redis.register_script(apply_scripts.APPLY_GIGABIT)
        self._dead_letter = redis.register_script(apply_scripts.DEAD_LETTER)

    def _head(
        self, envelope: ReportEnvelope, entry_id: str, as_of: str, period: str, now: datetime
    ) -> tuple[list[str], list[str]]:
        keys = [
            names.report_key(envelope.city, envelope.report_id),
            names.REPORTS_STREAM,
            names.PROGRESS_STREAM,
            names.city_periods_key(envelope.city, envelope.kind),
            names.LAST_RECEIVED_KEY,
            names.city_latest_as_of_key(envelope.city),
            names.city_period_received_key(envelope.city, envelope.kind),
            names.legacy_report_key(envelope.report_id),
            names.STATE_GENERATION_KEY,
        ]
        progress_groups = names.STREAM_GROUPS[names.PROGRESS_STREAM]
        args = [
            envelope.report_id,
            envelope.city,
            self._group,
            entry_id,
            now.isoformat(),
            f"{envelope.received_at.timestamp():.3f}",
            period,
            entry_version(as_of, entry_id),
            str(envelope.kind),
            names.last_received_field(envelope.city, envelope.kind),
            str(len(progress_groups)),
            *progress_groups,
        ]
        return keys, args

    async def apply(self, envelope: ReportEnvelope, entry_id: str, now: datetime) -> Outcome:
        """Apply the entry's report; raises if the payload does not decode (a poison entry), or
        ``SitesStoreUpgradingError`` if a migration of the sites outlasts the wait."""
        give_up_at = time.monotonic() + self._upgrade_wait_s
        while True:
            outcome = await self._apply(envelope, entry_id, now)
            if outcome.result == "legacy":
                # accepted by an older ingest, its record not yet moved under its city
                await adopt_legacy_record(self._redis, envelope.report_id)
                outcome = await self._apply(envelope, entry_id, now)
            if outcome.result != "upgrading":
                return outcome
            if time.monotonic() >= give_up_at:
                raise SitesStoreUpgradingError("the sites are being migrated (pacer migrate)")
            await asyncio.sleep(UPGRADE_POLL_S)

    async def _apply(self, envelope: ReportEnvelope, entry_id: str, now: datetime) -> Outcome:
        report = envelope.report()
        keys, args = self._head(envelope, entry_id, report.as_of.isoformat(), report.period, now)
        if isinstance(report, SitesReport):
            city = envelope.city
            keys.append(names.REPORTS_REJECTED_KEY)
            keys += calls.apply_keys(city, [site.site_id for site in report.sites])
            args += calls.apply_args(
                city,
                self._max_sites_per_city,
                compact_version(report.as_of, entry_id),
                report.sites,
                (
                    names.reports_rejected_field(city, envelope.kind, "site_registered_elsewhere"),
                    names.reports_rejected_field(city, envelope.kind, "site_limit_exceeded"),
                ),
            )
            raw = await self._apply_sites(keys=keys, args=args)
        else:
            assert isinstance(report, GigabitReport) and envelope.kind is ReportKind.GIGABIT
            keys += [
                names.city_indicators_key(envelope.city),
                names.city_indicator_history_key(envelope.city),
                names.city_indicator_readings_key(envelope.city),
            ]
            args += indicators.report_items(report)
            raw = await self._apply_gigabit(keys=keys, args=args)
        return _outcome(raw)

    async def sites_upgrading(self) -> bool:
        """Whether the sites are in a layout this aggregator cannot apply to yet (a v1 store, or
        ``pacer migrate`` running)."""
        return await self._sites.layout() not in ("2", "empty")

    async def dead_letter(
        self, entry_id: str, fields: dict[str, str], reason: str, attempts: int
    ) -> str:
        city, report_id = fields.get("city", ""), fields.get("report_id", "")
        if not city:
            report_id = ""  # not a report of any city: no record to mark
        elif report_id:
            await adopt_legacy_record(self._redis, report_id)
        keys = [
            names.report_key(city, report_id),
            names.REPORTS_STREAM,
            names.DEAD_LETTER_STREAM,
            names.ENTRY_ERRORS_KEY,
            names.REPORTS_REJECTED_KEY,
        ]
        counted_as = names.reports_rejected_field(city, fields.get("kind", ""), "dead_lettered")
        args = [report_id, self._group, entry_id, reason, str(attempts), counted_as]
        for field, value in fields.items():
            args += [field, value]
        return str(await self._dead_letter(keys=keys, args=args))

    async def remember_error(self, entry_id: str, error: str) -> None:
        """Keep an entry's latest failure, so its dead-letter reason can say what went wrong."""
        await self._redis.hset(names.ENTRY_ERRORS_KEY, entry_id, error[:500])


def _outcome(raw: list[object]) -> Outcome:
    result = str(raw[0])
    if result == "applied":
        return Outcome(result, int(str(raw[1])), int(str(raw[2])), int(str(raw[3])))
    if result == "rejected":
        return Outcome(result, errors=int(str(raw[1])))
    return Outcome(result)
