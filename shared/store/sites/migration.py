"""``pacer migrate``: the sites of a running v1 store moved into the compact v2 layout, in place.

The v1 layout (``encoding``'s docstring) kept a site twice: in its city's hash and in the global
owner index. The migration walks each city's hash with HSCAN, a batch at a time (the owners of a
batch in one HMGET); one script writes a batch's v2 values and the position of the next batch
together, so an interrupted migration resumes where the last batch ended, and a batch run twice
(HSCAN may return a site twice) skips the sites it finds written. A last pass over the owner
index picks up ids claimed without a record (v1 wrote none, a hand-edited store might hold
some). Then one script drops the v1 keys and makes v2 live. The per-day counts
(``city_site_days_key``) are the same in both layouts and stay as they are.

While it runs (``names.SITES_FORMAT_KEY`` = ``migrating``) nothing may touch the sites: the ingest
answers 5G-site reports, their dry runs and releases 503 with Retry-After (gigabit reports and
every read go on), and the aggregator holds the 5G reports already accepted until v2 is live.

``write_v1`` is the v1 writer kept for tests and the benchmark: it stores sites exactly as v1
Pacer did (version text, ``encoding.v1_record`` text, owner index).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from redis.asyncio import Redis

from shared import names
from shared.clock import wall_time
from shared.store.sites import calls
from shared.store.sites.encoding import SiteFacts, version_from_v1
from shared.store.sites.scripts import FUNCTIONS

BATCH = 2_000
"""Sites per batch: one script of ~2,000 sites keeps Redis busy for a few milliseconds, so other
clients' commands (reads, gigabit reports) wait no longer than that."""

# Start or resume. KEYS: 1 format, 2 v1 owner index, 3 progress. ARGV: 1 now (epoch seconds),
# 2 the v1 city hashes, comma-separated (the cities pass walks them in this order).
# Returns 'live' (already v2, or an empty store now marked v2), 'started' or 'resumed'.
_START = r"""
local format = redis.call('GET', KEYS[1])
if format == '2' then return 'live' end
if not format and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[1], '2')
  return 'live'
end
if format == 'migrating' then return 'resumed' end
redis.call('SET', KEYS[1], 'migrating')
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'phase', 'cities', 'city', 0, 'cursor', '0', 'moved', 0,
  'indexed', 0, 'started', ARGV[1], 'cities', ARGV[2])
return 'started'
"""

# One batch of one city's sites. KEYS: 1 format, 2 progress, 3 city ids, 4 the owner's site
# count, 5 its words, then each site's bucket. ARGV: 1 the owner, 2-4 where the next batch starts
# (phase, city position, cursor), 5 n words (the batch's district and band texts), then the n
# words, then per site one tab-separated argument: site_id, version and core ('' for a site
# claimed without a record), "<district word index>,<band word index>" (1-based, empty when
# absent), 1 if the owner index holds it else 0 (one argument, not four: redis-py's packing of
# arguments was half the migration's time). Sites already written are skipped, so a batch run
# twice (an interrupted run, or HSCAN returning a site twice) changes nothing. Counts in progress
# field ``indexed`` the written sites the owner index holds: when that reaches the index's
# length, no id is claimed without a record. Returns how many sites it wrote.
_BATCH = (
    FUNCTIONS
    + r"""
if redis.call('GET', KEYS[1]) ~= 'migrating' then return redis.error_reply('not migrating') end
local city_id = sites_city_id(KEYS[3], ARGV[1], true)
local word_count = tonumber(ARGV[5])
local texts = {}
for i = 1, word_count do texts[i] = ARGV[5 + i] end
local word_ids = sites_intern(KEYS[5], texts, true)
local suffixes = {}
local moved, indexed, site = 0, 0, 0
for i = 6 + word_count, #ARGV do
  local id, body, refs, flag = string.match(ARGV[i], '^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.)$')
  local bucket = KEYS[6 + site]
  site = site + 1
  if redis.call('HEXISTS', bucket, id) == 0 then
    local value = city_id .. body
    if body ~= '' then value = value .. sites_word_suffix(suffixes, word_ids, refs) end
    redis.call('HSET', bucket, id, value)
    moved = moved + 1
    if flag == '1' then indexed = indexed + 1 end
  end
end
if moved > 0 then redis.call('INCRBY', KEYS[4], moved) end
redis.call('HSET', KEYS[2], 'phase', ARGV[2], 'city', ARGV[3], 'cursor', ARGV[4])
redis.call('HINCRBY', KEYS[2], 'moved', moved)
redis.call('HINCRBY', KEYS[2], 'indexed', indexed)
return moved
"""
)

# The end. KEYS: 1 format, 2 progress, 3 v1 owner index, then the v1 city site hashes.
_FINISH = r"""
if redis.call('GET', KEYS[1]) ~= 'migrating' then return 'live' end
for i = 3, #KEYS do redis.call('UNLINK', KEYS[i]) end
redis.call('SET', KEYS[1], '2')
redis.call('DEL', KEYS[2])
return 'finished'
"""

V1_CITY_SITES_PATTERN = names.city_sites_key("*")


@dataclass(frozen=True)
class MigrationResult:
    outcome: str
    """live (nothing to do), finished, or paused (stopped after ``max_batches``)."""
    moved: int = 0
    """Sites written into v2 by this run."""
    seconds: float = 0.0


@dataclass(frozen=True)
class _Position:
    """Where the next batch starts: the phase (``cities``: each v1 city hash in turn, the sites
    with their records; ``owners``: the owner index, for ids claimed without a record, which v1
    never wrote but a hand-edited store may hold), the city's position and the HSCAN cursor."""

    phase: str
    city: int
    cursor: int


async def migrate(
    redis: Redis,
    *,
    batch: int = BATCH,
    max_batches: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> MigrationResult:
    """Move a v1 store's sites into v2, or carry on with a migration that was interrupted.

    ``max_batches``: stop after that many (tests interrupt it so); ``progress``: called with the
    sites moved so far after each batch."""
    started = time.perf_counter()
    v1_cities = sorted([_text(k) async for k in redis.scan_iter(V1_CITY_SITES_PATTERN, 1000)])
    begun = await redis.eval(
        _START,
        3,
        names.SITES_FORMAT_KEY,
        names.SITE_OWNER_KEY,
        names.SITES_MIGRATION_KEY,
        str(int(wall_time())),
        ",".join(v1_cities),
    )
    if _text(begun) == "live":
        return MigrationResult("live")
    state = {
        _text(k): _text(v) for k, v in (await redis.hgetall(names.SITES_MIGRATION_KEY)).items()
    }
    city_keys = [key for key in state["cities"].split(",") if key]
    at = _Position(state["phase"], int(state["city"]), int(state["cursor"]))
    run_batch = redis.register_script(_BATCH)
    moved, batches = 0, 0
    while at.phase != "finishing":
        if max_batches is not None and batches >= max_batches:
            return MigrationResult("paused", moved, time.perf_counter() - started)
        if at.phase == "cities":
            at, owner, sites = await _city_batch(redis, city_keys, at, batch)
        else:
            at, owner, sites = await _owner_batch(redis, at, batch)
        if sites:
            keys, args = _batch_call(owner, sites)
            moved += int(await run_batch(keys=keys, args=[owner, *_fields(at), *args]))
        else:
            position = dict(zip(_FIELDS, _fields(at), strict=True))
            await redis.hset(names.SITES_MIGRATION_KEY, mapping=position)  # type: ignore[arg-type]
        batches += 1
        if progress is not None:
            progress(moved)
    await redis.eval(
        _FINISH,
        3 + len(city_keys),
        names.SITES_FORMAT_KEY,
        names.SITES_MIGRATION_KEY,
        names.SITE_OWNER_KEY,
        *city_keys,
    )
    return MigrationResult("finished", moved, time.perf_counter() - started)


_FIELDS = ("phase", "city", "cursor")


def _fields(at: _Position) -> list[str]:
    return [at.phase, str(at.city), str(at.cursor)]


_Sites = list[tuple[str, str | None, bool]]
"""(site_id, v1 stored value or None when only claimed, whether the owner index holds it)."""


async def _city_batch(
    redis: Redis, city_keys: list[str], at: _Position, batch: int
) -> tuple[_Position, str, _Sites]:
    """The next batch of the city hash at ``at.city``: the sites whose owner is that city (or
    none: v1 counted them toward it), and the position after it."""
    if at.city >= len(city_keys):
        return _Position("owners", 0, 0), "", []
    key = city_keys[at.city]
    city = key.split("{", 1)[1].rsplit("}", 1)[0]
    cursor, records = await redis.hscan(key, at.cursor, count=batch)
    assert isinstance(records, dict)  # field -> value (no NOVALUES)
    ids = [_text(site_id) for site_id in records]
    owners = await redis.hmget(names.SITE_OWNER_KEY, ids) if ids else []
    sites: _Sites = [
        (site_id, _text(value), owner is not None)
        for site_id, value, owner in zip(ids, records.values(), owners, strict=True)
        if owner is None or _text(owner) == city
    ]
    following = (
        _Position("cities", at.city, cursor) if cursor else _Position("cities", at.city + 1, 0)
    )
    return following, city, sites


async def _owner_batch(redis: Redis, at: _Position, batch: int) -> tuple[_Position, str, _Sites]:
    """Ids the owner index holds that the cities pass did not write (claimed without a record),
    one owner at a time: the batch is the first owner's; its other ids come again next time."""
    if at.cursor == 0:
        held, indexed = await _index_sizes(redis)
        if held == indexed:  # every id of the index was written with its record
            return _Position("finishing", 0, 0), "", []
    cursor, owners = await redis.hscan(names.SITE_OWNER_KEY, at.cursor, count=batch)
    assert isinstance(owners, dict)
    following = _Position("owners", 0, cursor) if cursor else _Position("finishing", 0, 0)
    pending: dict[str, list[str]] = {}
    async with redis.pipeline(transaction=False) as pipe:
        for site_id in owners:
            pipe.hexists(calls.bucket_key(_text(site_id)), _text(site_id))
        written = await pipe.execute()
    for (site_id, owner), done in zip(owners.items(), written, strict=True):
        if not done:
            pending.setdefault(_text(owner), []).append(_text(site_id))
    if not pending:
        return following, "", []
    owner, ids = next(iter(pending.items()))
    if len(pending) > 1:
        following = at  # the same scan position again for the other owners' ids
    return following, owner, [(site_id, None, True) for site_id in ids]


async def _index_sizes(redis: Redis) -> tuple[int, int]:
    """Ids in the owner index, and how many of them the cities pass wrote."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hlen(names.SITE_OWNER_KEY)
        pipe.hget(names.SITES_MIGRATION_KEY, "indexed")
        held, indexed = await pipe.execute()
    return int(held), int(indexed or 0)


def _batch_call(owner: str, sites: _Sites) -> tuple[list[str], list[str]]:
    """The batch script's keys and arguments after the position: words, then per site."""
    keys = [
        names.SITES_FORMAT_KEY,
        names.SITES_MIGRATION_KEY,
        names.SITE_CITY_IDS_KEY,
        names.city_site_count_key(owner),
        names.city_site_words_key(owner),
        *calls.bucket_keys([site_id for site_id, _, _ in sites]),
    ]
    words: dict[str, int] = {}
    per_site: list[str] = []
    for site_id, stored, indexed in sites:
        flag = "1" if indexed else "0"
        if stored is None:
            per_site.append(f"{site_id}\t\t\t{flag}")
            continue
        version, record = stored.split("\t", 1)
        facts = SiteFacts.from_v1_record(record)
        district = words.setdefault(facts.district, len(words) + 1) if facts.district else ""
        band = words.setdefault(facts.band, len(words) + 1) if facts.band else ""
        body = version_from_v1(version) + facts.core()
        per_site.append(f"{site_id}\t{body}\t{district},{band}\t{flag}")
    return keys, [str(len(words)), *words, *per_site]


async def status(redis: Redis) -> dict[str, str]:
    """The live layout and, while a migration runs, where it is."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(names.SITES_FORMAT_KEY)
        pipe.exists(names.SITE_OWNER_KEY)
        pipe.hgetall(names.SITES_MIGRATION_KEY)
        live, v1, state = await pipe.execute()
    layout = _text(live) if live else ("1" if v1 else "empty")
    return {"format": layout, **{_text(k): _text(v) for k, v in state.items()}}


# The v1 writer (tests and the benchmark load a v1 store with it).


@dataclass(frozen=True)
class V1Site:
    site_id: str
    city: str
    version: str
    """v1 text: ``<as_of>/<15-digit ms>-<10-digit seq>``."""
    facts: SiteFacts


def v1_version(as_of: date, entry_id: str) -> str:
    millis, _, sequence = entry_id.partition("-")
    return f"{as_of.isoformat()}/{int(millis):015d}-{int(sequence or 0):010d}"


async def write_v1(redis: Redis, sites: Iterable[V1Site]) -> None:
    """Store sites as v1 Pacer did: the city's hash and the owner index (the per-day counts are
    the caller's: they are the same in both layouts)."""
    async with redis.pipeline(transaction=False) as pipe:
        for site in sites:
            pipe.hset(
                names.city_sites_key(site.city),
                site.site_id,
                f"{site.version}\t{site.facts.v1_record()}",
            )
            pipe.hset(names.SITE_OWNER_KEY, site.site_id, site.city)
        await pipe.execute()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
