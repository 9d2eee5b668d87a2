"""The ingest's Redis operations: accept a report, look up site owners, preview, read records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from services.ingest import scripts
from shared import names
from shared.wire import (
    GigabitReport,
    Report,
    ReportEnvelope,
    ReportRecord,
    ReportSummary,
    SitesReport,
)


@dataclass(frozen=True)
class Acceptance:
    result: str
    """accepted, duplicate, conflict, backpressure or elsewhere (refused: nothing was stored)."""
    received_at: datetime
    backlog: int = 0
    """The reports the slowest consumer group still had to work through (0 if not looked at)."""
    elsewhere: tuple[tuple[int, str], ...] = ()
    """For elsewhere: (position in the report, owning city) of each site another city holds."""


class ReportStore:
    def __init__(self, redis: Redis, max_backlog: int = 0) -> None:
        """``max_backlog``: refuse new reports while this many wait to be applied; 0: no bound."""
        self._redis = redis
        self._max_backlog = max_backlog
        self._accept = redis.register_script(scripts.ACCEPT)

    @property
    def max_backlog(self) -> int:
        return self._max_backlog

    async def accept(
        self, envelope: ReportEnvelope, fingerprint: str, site_ids: Sequence[str] = ()
    ) -> Acceptance:
        """Stores the report unless ``site_ids`` (a 5G report's, in order) holds a site registered
        to another city, the id is already taken, or the backlog is full."""
        groups = names.STREAM_GROUPS[names.REPORTS_STREAM]
        raw = await self._accept(
            keys=[names.report_key(envelope.report_id), names.REPORTS_STREAM, names.SITE_OWNER_KEY],
            args=[
                fingerprint,
                envelope.received_at.isoformat(),
                envelope.city,
                str(envelope.kind),
                envelope.report_id,
                envelope.payload,
                self._max_backlog,
                len(groups),
                *groups,
                *site_ids,
            ],
        )
        elsewhere = tuple((int(raw[i]), str(raw[i + 1])) for i in range(3, len(raw), 2))
        return Acceptance(str(raw[0]), datetime.fromisoformat(str(raw[1])), int(raw[2]), elsewhere)

    async def site_owners(self, site_ids: list[str]) -> dict[str, str]:
        """site_id -> city for the ids already registered (``accept`` checks them itself)."""
        if not site_ids:
            return {}
        owners = await self._redis.hmget(names.SITE_OWNER_KEY, site_ids)
        return {site: str(owner) for site, owner in zip(site_ids, owners, strict=True) if owner}

    async def record(self, report_id: str) -> ReportRecord | None:
        fields = await self._redis.hgetall(names.report_key(report_id))
        return (
            ReportRecord.from_hash({str(k): str(v) for k, v in fields.items()}) if fields else None
        )

    async def preview(self, city: str, report: Report) -> ReportSummary:
        """What applying the report now would do (the aggregator's rules, without writing)."""
        if isinstance(report, SitesReport):
            ids = [s.site_id for s in report.sites]
            stored = await self._redis.hmget(names.city_sites_key(city), ids) if ids else []
            incoming = [(report.as_of.isoformat(), s.record()) for s in report.sites]
        else:
            assert isinstance(report, GigabitReport)
            keys = sorted(report.indicators)
            stored = await self._redis.hmget(names.city_indicators_key(city), keys) if keys else []
            incoming = [(report.as_of.isoformat(), repr(float(report.indicators[k]))) for k in keys]
        summary = ReportSummary()
        for (as_of, value), current in zip(incoming, stored, strict=True):
            if current is None:
                summary.created += 1
                continue
            stored_as_of, stored_value = _stored_as_of_and_value(
                str(current), isinstance(report, SitesReport)
            )
            if as_of < stored_as_of or value == stored_value:
                summary.unchanged += 1
            else:
                summary.updated += 1
        return summary


def _stored_as_of_and_value(stored: str, is_site: bool) -> tuple[str, str]:
    """Stored sites are "<version>\\t<record>"; indicators "<version>\\t<value>\\t<as_of>\\t<id>".

    Returns the stored as_of and the part compared for "unchanged".
    """
    version, rest = stored.split("\t", 1)
    value = rest if is_site else rest.split("\t", 1)[0]
    return version.split("/", 1)[0], value
