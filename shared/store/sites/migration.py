"""``pacer migrate``: the sites of a running v1 store moved into the compact v2 layout, in place.

The v1 layout (``encoding``'s docstring) kept a site twice: in its city's hash and in the global
owner index. The migration walks the owner index with HSCAN, a batch at a time; each batch reads
the records of its sites from their cities' hashes and one script writes their v2 values and the
cursor of the next batch together, so an interrupted migration resumes where the last batch
ended, and a batch run twice (HSCAN may return a site twice) skips the sites it finds written.
Then one script drops the v1 keys and makes v2 live. The per-day counts (``city_site_days_key``)
are the same in both layouts and stay as they are.

While it runs (``names.SITES_FORMAT_KEY`` = ``migrating``) nothing may touch the sites: the ingest
answers 5G-site reports, their dry runs and releases 503 with Retry-After (gigabit reports and
every read go on), and the aggregator holds the 5G reports already accepted until v2 is live.

``write_v1`` is the v1 writer kept for tests and the benchmark: it stores sites exactly as v1
Pacer did (version text, ``Site.record`` text, owner index).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from redis.asyncio import Redis

from shared import names
from shared.store.sites import calls
from shared.store.sites.encoding import SiteFacts, version_from_v1
from shared.store.sites.scripts import FUNCTIONS

BATCH = 2_000
"""Sites per batch: one script of ~2,000 sites keeps Redis busy for a few milliseconds, so other
clients' commands (reads, gigabit reports) wait no longer than that."""

# Start or resume. KEYS: 1 format, 2 v1 owner index, 3 progress.
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
redis.call('HSET', KEYS[3], 'phase', 'scanning', 'cursor', '0', 'moved', 0,
  'started', ARGV[1])
return 'started'
"""

# One batch. KEYS: 1 format, 2 progress, 3 city ids, then per site: its bucket, its owner's site
# count, its owner's words. ARGV: 1 the cursor after this batch ('0': the scan is done),
# then per site: site_id, owner, version ('' for a site claimed without a record), core ('' too),
# district, band. Returns how many sites it wrote (those already written are skipped).
_BATCH = (
    FUNCTIONS
    + r"""
if redis.call('GET', KEYS[1]) ~= 'migrating' then return redis.error_reply('not migrating') end
local moved, city_ids, word_ids = 0, {}, {}
local function word(words_key, text)
  if text == '' then return '' end
  local cache = word_ids[words_key] or {}
  word_ids[words_key] = cache
  cache[text] = cache[text] or sites_intern(words_key, {text}, true)[1]
  return cache[text]
end
local site = 0
for i = 2, #ARGV, 6 do
  local id, owner, version, core = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local bucket, count_key, words_key = KEYS[4 + site * 3], KEYS[5 + site * 3], KEYS[6 + site * 3]
  site = site + 1
  if redis.call('HEXISTS', bucket, id) == 0 then
    city_ids[owner] = city_ids[owner] or sites_city_id(KEYS[3], owner, true)
    local value = city_ids[owner] .. version
    if core ~= '' then
      value = value .. core .. word(words_key, ARGV[i + 4]) .. ',' .. word(words_key, ARGV[i + 5])
    end
    redis.call('HSET', bucket, id, value)
    redis.call('INCR', count_key)
    moved = moved + 1
  end
end
redis.call('HSET', KEYS[2], 'cursor', ARGV[1])
if ARGV[1] == '0' then redis.call('HSET', KEYS[2], 'phase', 'finishing') end
redis.call('HINCRBY', KEYS[2], 'moved', moved)
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
    begun = await redis.eval(
        _START,
        3,
        names.SITES_FORMAT_KEY,
        names.SITE_OWNER_KEY,
        names.SITES_MIGRATION_KEY,
        str(int(time.time())),
    )
    if _text(begun) == "live":
        return MigrationResult("live")
    run_batch = redis.register_script(_BATCH)
    moved, batches = 0, 0
    while True:
        state = {
            _text(k): _text(v) for k, v in (await redis.hgetall(names.SITES_MIGRATION_KEY)).items()
        }
        if state.get("phase") != "scanning":
            break
        if max_batches is not None and batches >= max_batches:
            return MigrationResult("paused", moved, time.perf_counter() - started)
        cursor, owners = await redis.hscan(names.SITE_OWNER_KEY, int(state["cursor"]), count=batch)
        assert isinstance(owners, dict)  # field -> value (no NOVALUES)
        keys, args = await _batch_call(redis, {_text(k): _text(v) for k, v in owners.items()})
        moved += int(await run_batch(keys=keys, args=[str(cursor), *args]))
        batches += 1
        if progress is not None:
            progress(moved)
    v1_city_keys = [_text(key) async for key in redis.scan_iter(V1_CITY_SITES_PATTERN, 1000)]
    await redis.eval(
        _FINISH,
        3 + len(v1_city_keys),
        names.SITES_FORMAT_KEY,
        names.SITES_MIGRATION_KEY,
        names.SITE_OWNER_KEY,
        *v1_city_keys,
    )
    return MigrationResult("finished", moved, time.perf_counter() - started)


async def _batch_call(redis: Redis, owners: dict[str, str]) -> tuple[list[str], list[str]]:
    """The batch script's keys and site arguments for these (site_id -> owner) pairs."""
    by_city: dict[str, list[str]] = {}
    for site_id, owner in owners.items():
        by_city.setdefault(owner, []).append(site_id)
    async with redis.pipeline(transaction=False) as pipe:
        for city, site_ids in by_city.items():
            pipe.hmget(names.city_sites_key(city), site_ids)
        found = await pipe.execute()
    keys = [names.SITES_FORMAT_KEY, names.SITES_MIGRATION_KEY, names.SITE_CITY_IDS_KEY]
    args: list[str] = []
    for (city, site_ids), records in zip(by_city.items(), found, strict=True):
        count_key, words_key = names.city_site_count_key(city), names.city_site_words_key(city)
        for site_id, stored in zip(site_ids, records, strict=True):
            keys += [calls.bucket_key(site_id), count_key, words_key]
            if stored is None:  # claimed without a record (v1 wrote none such, but tests did)
                args += [site_id, city, "", "", "", ""]
                continue
            version, record = _text(stored).split("\t", 1)
            facts = SiteFacts.from_v1_record(record)
            args += [
                site_id,
                city,
                version_from_v1(version),
                facts.core(),
                facts.district or "",
                facts.band or "",
            ]
    return keys, args


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
