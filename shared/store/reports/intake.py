"""The ingest's Redis operations: accept a report, check its sites, preview, read the records,
release a site id. The ingest's routes depend on the ``ReportIntake`` Protocol; its composition
root builds the ``ReportStore``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from redis.asyncio import Redis

from shared import names
from shared.domain.state import ReportKind
from shared.store.batched_script import BatchedScript
from shared.store.indicators import IndicatorStore, RedisIndicators
from shared.store.replication import ReplicaQuorum, run_replicated
from shared.store.reports import accept_script
from shared.store.reports.records import adopt_legacy_record, receipt_score
from shared.store.sites import RedisSites, Released, SitesStoreUpgradingError, SiteStore, calls
from shared.wire import (
    GigabitReport,
    Report,
    ReportEnvelope,
    ReportPage,
    ReportRecord,
    ReportSummary,
    SitesReport,
)

NO_RECEIPT = datetime.fromtimestamp(0, UTC)
"""The receipt of an envelope that is only checked, never stored."""


@dataclass(frozen=True)
class SiteCheck:
    """What the accept script found about a 5G report's site ids."""

    elsewhere: tuple[tuple[int, str], ...] = ()
    """(position in the report, owning city) of each site another city holds."""
    registered: int = 0
    """Site ids the city holds (0 when the report names no id nobody holds)."""
    unregistered: int = 0
    """The report's site ids nobody holds yet: storing it would register them to the city."""
    limit: int = 0
    """The most site ids a city may hold (0: no bound)."""

    @property
    def over_limit(self) -> bool:
        return self.limit > 0 and self.registered + self.unregistered > self.limit


@dataclass(frozen=True)
class Acceptance:
    result: str
    """accepted, duplicate, conflict, backpressure, refused or upgrading (a 5G report while
    ``pacer migrate`` moves the sites; nothing was stored), or
    unreplicated: stored, now or before, but fewer replicas than the quorum confirmed it in
    time (a failover now could lose it)."""
    received_at: datetime
    backlog: int = 0
    """The reports the slowest consumer group still had to work through (0 if not looked at)."""
    sites: SiteCheck = SiteCheck()
    """For refused: the sites held elsewhere, or the count that takes the city over its limit."""


class ReportIntake(Protocol):
    """What the ingest's routes need of the reports family (``ReportStore``)."""

    @property
    def max_backlog(self) -> int: ...

    @property
    def quorum(self) -> ReplicaQuorum: ...

    async def accept(
        self, envelope: ReportEnvelope, fingerprint: str, site_ids: Sequence[str] = ()
    ) -> Acceptance: ...

    async def check_sites(self, city: str, site_ids: Sequence[str]) -> SiteCheck: ...

    async def preview(self, city: str, report: Report) -> ReportSummary: ...

    async def record(
        self, city: str, report_id: str, *, name_owners: bool = False
    ) -> ReportRecord | None: ...

    async def page(
        self, city: str, limit: int, before: str | None, *, name_owners: bool = False
    ) -> ReportPage | None: ...

    async def cities_with(self, report_id: str, cities: Sequence[str]) -> list[str]: ...

    async def release_site(self, site_id: str) -> Released | None: ...


__all__ = [
    "Acceptance",
    "Released",
    "ReportIntake",
    "ReportStore",
    "SiteCheck",
    "SitesStoreUpgradingError",
]


class ReportStore:
    def __init__(
        self,
        redis: Redis,
        max_backlog: int = 0,
        max_sites_per_city: int = 0,
        quorum: ReplicaQuorum | None = None,
        sites: SiteStore | None = None,
    ) -> None:
        """``max_backlog``: refuse new reports while this many wait to be applied;
        ``max_sites_per_city``: refuse a report that would register more site ids to its city.
        0: no bound. ``quorum``: the replicas that must hold a report before it is accepted
        (None: none). ``sites``: the sites family (None: the one in ``redis``)."""
        self._redis = redis
        self._sites = sites or RedisSites(redis)
        self._indicators: IndicatorStore = RedisIndicators(redis)
        self._max_backlog = max_backlog
        self._max_sites = max_sites_per_city
        self._quorum = quorum or ReplicaQuorum()
        self._accept = redis.register_script(accept_script.ACCEPT)
        self._accept_batched = BatchedScript(redis, self._accept)
        self._page = redis.register_script(accept_script.REPORT_PAGE)

    @property
    def max_backlog(self) -> int:
        return self._max_backlog

    @property
    def quorum(self) -> ReplicaQuorum:
        return self._quorum

    async def accept(
        self, envelope: ReportEnvelope, fingerprint: str, site_ids: Sequence[str] = ()
    ) -> Acceptance:
        """Stores the report unless ``site_ids`` (a 5G report's, in order) holds a site registered
        to another city or would take the city past its limit, the id is already taken in the
        city, or the backlog is full."""
        raw, replicated = await self._store(envelope, fingerprint, site_ids)
        if raw[0] == "legacy":  # an older Pacer's record of this id for this city: move it
            await adopt_legacy_record(self._redis, envelope.report_id)
            raw, replicated = await self._store(envelope, fingerprint, site_ids)
        result = str(raw[0])
        if result in ("accepted", "duplicate") and not replicated:
            result = "unreplicated"
        return Acceptance(
            result, datetime.fromisoformat(str(raw[1])), int(raw[2]), self._site_check(raw)
        )

    async def _store(
        self, envelope: ReportEnvelope, fingerprint: str, site_ids: Sequence[str]
    ) -> tuple[list[Any], bool]:
        """The accept script's answer, and whether the quorum of replicas holds the report."""
        if not self._quorum.required:
            return await self._run_accept(envelope, fingerprint, site_ids, "store"), True
        keys, args = self._accept_call(envelope, fingerprint, site_ids, "confirm")
        raw, replicated = await run_replicated(self._redis, self._accept, keys, args, self._quorum)
        return list(raw), replicated

    async def check_sites(self, city: str, site_ids: Sequence[str]) -> SiteCheck:
        """What ``accept`` would say about these sites, writing nothing (dry runs, and reports
        refused for other reasons, list these errors too)."""
        if not site_ids:
            return SiteCheck(limit=self._max_sites)
        # mode check reads only the city and the site ids of what it is given
        envelope = ReportEnvelope("", city, ReportKind.SITES, NO_RECEIPT, "")
        raw = await self._run_accept(envelope, "", site_ids, "check")
        if raw[0] == "upgrading":
            raise SitesStoreUpgradingError("the sites are being migrated (pacer migrate)")
        return self._site_check(raw)

    async def _run_accept(
        self, envelope: ReportEnvelope, fingerprint: str, site_ids: Sequence[str], mode: str
    ) -> list[Any]:
        keys, args = self._accept_call(envelope, fingerprint, site_ids, mode)
        raw: list[Any] = await self._accept_batched(keys, args)
        return raw

    def _accept_call(
        self, envelope: ReportEnvelope, fingerprint: str, site_ids: Sequence[str], mode: str
    ) -> tuple[list[str], list[str | int | float]]:
        groups = names.STREAM_GROUPS[names.REPORTS_STREAM]
        keys = [
            names.report_key(envelope.city, envelope.report_id),
            names.REPORTS_STREAM,
            names.city_reports_key(envelope.city),
            names.legacy_report_key(envelope.report_id),
        ]
        if envelope.kind is ReportKind.SITES:
            keys += calls.claim_keys(envelope.city, site_ids)
        return (
            keys,
            [
                fingerprint,
                envelope.received_at.isoformat(),
                envelope.city,
                str(envelope.kind),
                envelope.report_id,
                envelope.payload,
                self._max_backlog,
                self._max_sites,
                mode,
                receipt_score(envelope.received_at),
                len(groups),
                *groups,
                *site_ids,
            ],
        )

    def _site_check(self, raw: list[Any]) -> SiteCheck:
        return SiteCheck(
            elsewhere=tuple((int(raw[i]), str(raw[i + 1])) for i in range(5, len(raw), 2)),
            registered=int(raw[3]),
            unregistered=int(raw[4]),
            limit=self._max_sites,
        )

    async def record(
        self, city: str, report_id: str, *, name_owners: bool = False
    ) -> ReportRecord | None:
        """The city's report with this id; ``name_owners``: its errors may say which city holds a
        site id it claimed."""
        fields = await self._redis.hgetall(names.report_key(city, report_id))
        return _record(fields, name_owners) if fields else None

    async def cities_with(self, report_id: str, cities: Sequence[str]) -> list[str]:
        """The cities (of ``cities``) that have a report with this id."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for city in cities:
                pipe.exists(names.report_key(city, report_id))
            found = await pipe.execute()
        return [city for city, exists in zip(cities, found, strict=True) if exists]

    async def page(
        self, city: str, limit: int, before: str | None, *, name_owners: bool = False
    ) -> ReportPage | None:
        """Up to ``limit`` of the city's reports, newest first, received before the report
        ``before`` (from the newest when None); None when ``before`` is not one of its reports."""
        ids = await self._page(keys=[names.city_reports_key(city)], args=[limit + 1, before or ""])
        if ids is None:
            return None
        shown = [str(i) for i in ids[:limit]]
        async with self._redis.pipeline(transaction=False) as pipe:
            for report_id in shown:
                pipe.hgetall(names.report_key(city, report_id))
            records = await pipe.execute()
        return ReportPage(
            reports=[_record(fields, name_owners) for fields in records if fields],
            next_before=shown[-1] if len(ids) > limit else None,
        )

    async def release_site(self, site_id: str) -> Released | None:
        """Takes the site id from its owner (None if nobody holds it)."""
        return await self._sites.release(site_id)

    async def preview(self, city: str, report: Report) -> ReportSummary:
        """What applying the report now would do, writing nothing: the apply's own rules, run
        by the families in preview mode (``SiteStore.preview``, ``IndicatorStore.preview``)."""
        if isinstance(report, SitesReport):
            return await self._sites.preview(city, report)
        assert isinstance(report, GigabitReport)
        return await self._indicators.preview(city, report)


def _record(fields: Mapping[Any, Any], name_owners: bool) -> ReportRecord:
    return ReportRecord.from_hash(
        {str(k): str(v) for k, v in fields.items()}, name_owners=name_owners
    )
