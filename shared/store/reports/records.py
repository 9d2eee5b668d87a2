"""Report records: the upgrade that scopes them to their city, and the rejection counts.

Before contract v2 every report's record lived at ``pacer:report:<id>``, whatever its city, so one
city's id blocked another's. Now it is ``names.report_key(city, id)``, listed in the city's index
(``names.city_reports_key``). ``upgrade_report_records`` moves every old record there; the ingest
and the aggregator run it at start. It is idempotent (a moved record is no longer at the old key)
and safe to run from several processes at once: each batch is one script that re-reads the city
of every old record before it moves it.

A record the upgrade has not reached (one an older ingest wrote during a rolling upgrade) is moved
when a script meets it: the accept and apply scripts answer ``legacy`` for an id whose record is
only at the old key with their city, and their callers move it with ``adopt_legacy_record`` and
run again. Roll the aggregator before the ingest: an older aggregator would mark the new records'
reports applied at the old key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from shared import names
from shared.domain.state import ReportKind

log = logging.getLogger("pacer.store")

SCAN_BATCH = 500

# KEYS: triples (old record, the city's record, the city's index).
# ARGV: triples (city the caller read from the old record, report_id, receipt as epoch seconds).
# An old record whose city changed or vanished since the caller read it (another upgrader moved
# it) is skipped; one whose id the city already holds under the new key stays where it is.
_MOVE = r"""
local moved, kept = 0, 0
for i = 1, #KEYS, 3 do
  if redis.call('HGET', KEYS[i], 'city') == ARGV[i] then
    if redis.call('EXISTS', KEYS[i + 1]) == 0 then
      redis.call('RENAME', KEYS[i], KEYS[i + 1])
      redis.call('ZADD', KEYS[i + 2], ARGV[i + 2], ARGV[i + 1])
      moved = moved + 1
    else
      kept = kept + 1
    end
  end
end
return {moved, kept}
"""


@dataclass(frozen=True)
class UpgradeResult:
    moved: int = 0
    kept: int = 0
    """Old records left in place: their city already has a record with that id under the new
    key (only possible when an older ingest still ran beside a newer one)."""
    unreadable: int = 0
    """Old records without a city: left in place, as nothing says whose they are."""


def receipt_score(received_at: datetime) -> str:
    """The index score of a report: its receipt as epoch seconds (ties: by report id)."""
    return f"{received_at.timestamp():.6f}"


async def _move(redis: Redis, old_keys: list[str]) -> UpgradeResult:
    async with redis.pipeline(transaction=False) as pipe:
        for key in old_keys:
            pipe.hmget(key, "city", "report_id", "received_at", "status")
        found = await pipe.execute()
    keys: list[str] = []
    args: list[str] = []
    unreadable = 0
    for old, (city, report_id, received_at, status) in zip(old_keys, found, strict=True):
        if city is None:
            unreadable += status is not None  # else gone: another upgrader moved it
            continue
        report_id = report_id or old.removeprefix(names.legacy_report_key(""))
        try:
            score = receipt_score(datetime.fromisoformat(received_at))
        except (TypeError, ValueError):
            score = "0"
        keys += [old, names.report_key(city, report_id), names.city_reports_key(city)]
        args += [city, report_id, score]
    if not keys:
        return UpgradeResult(unreadable=unreadable)
    moved, kept = await redis.register_script(_MOVE)(keys=keys, args=args)
    return UpgradeResult(int(moved), int(kept), unreadable)


async def upgrade_report_records(redis: Redis, batch: int = SCAN_BATCH) -> UpgradeResult:
    """Moves every record still at its pre-v2 key under its city's key and index."""
    moved = kept = unreadable = 0
    pending: list[str] = []
    async for key in redis.scan_iter(match=names.LEGACY_REPORT_PATTERN, count=batch):
        pending.append(key)
        if len(pending) >= batch:
            done = await _move(redis, pending)
            moved, kept, unreadable = (
                moved + done.moved,
                kept + done.kept,
                unreadable + done.unreadable,
            )
            pending = []
    if pending:
        done = await _move(redis, pending)
        moved, kept, unreadable = moved + done.moved, kept + done.kept, unreadable + done.unreadable
    result = UpgradeResult(moved, kept, unreadable)
    if moved or kept or unreadable:
        log.info(
            "report records scoped to their city: %d moved, %d left (id taken in the city), "
            "%d left (no city)",
            moved,
            kept,
            unreadable,
        )
    return result


async def adopt_legacy_record(redis: Redis, report_id: str) -> UpgradeResult:
    """Moves one report's pre-v2 record under its city (what the upgrade does for every one)."""
    return await _move(redis, [names.legacy_report_key(report_id)])


REJECTION_CODES: dict[str, tuple[str, ...]] = {
    ReportKind.SITES: ("dead_lettered", "site_limit_exceeded", "site_registered_elsewhere"),
    ReportKind.GIGABIT: ("dead_lettered",),
}
"""The codes under which the aggregator's scripts count a rejected report of each kind."""


@dataclass(frozen=True)
class RejectedCount:
    city: str
    kind: str
    code: str
    count: int


async def read_rejected_counts(redis: Redis) -> tuple[RejectedCount, ...]:
    """``names.REPORTS_REJECTED_KEY``: reports the aggregator rejected, by city, kind and code."""
    counts = await redis.hgetall(names.REPORTS_REJECTED_KEY)
    found = []
    for field, count in counts.items():
        city, _, rest = str(field).partition("|")
        kind, _, code = rest.partition("|")
        found.append(RejectedCount(city, kind, code, int(count)))
    return tuple(sorted(found, key=lambda c: (c.city, c.kind, c.code)))
