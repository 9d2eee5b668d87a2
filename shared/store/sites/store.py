"""The sites family's reads and its admin write (release), behind the ``SiteStore`` Protocol the
ingest depends on. Applying a report is the aggregator's apply script (``sites_apply`` inside it),
atomic with the report's record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

from shared import names
from shared.store.sites import calls, scripts
from shared.store.sites.encoding import SiteFacts, StoredSite, preview_version, v1_version
from shared.wire import ReportSummary, SitesReport

MAX_RELEASE_TRIES = 5


class SitesStoreUpgradingError(RuntimeError):
    """The sites are not in the layout this Pacer reads (a v1 store, or ``pacer migrate`` is
    moving it): nothing about sites can be answered or written until the migration ends."""


@dataclass(frozen=True)
class Released:
    former_owner: str
    was_in_service: bool


@dataclass(frozen=True)
class StoredFacts:
    """A site as stored: its owner, the version that wrote it (v1 text) and its facts (None when
    the city only claimed it)."""

    owner: str
    version: str
    facts: SiteFacts | None


class SiteStore(Protocol):
    """What the ingest asks of the sites family."""

    async def preview(self, city: str, report: SitesReport) -> ReportSummary:
        """What applying the report now would do (the apply script, writing nothing)."""
        ...

    async def release(self, site_id: str) -> Released | None:
        """Take the site id from its owner (None if nobody holds it)."""
        ...


class RedisSites:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._preview = redis.register_script(scripts.PREVIEW)
        self._release = redis.register_script(scripts.RELEASE)

    async def preview(self, city: str, report: SitesReport) -> ReportSummary:
        ids = [site.site_id for site in report.sites]
        version = preview_version(report.as_of)
        raw = await self._preview(
            keys=calls.apply_keys(city, ids), args=calls.apply_args(city, 0, version, report.sites)
        )
        if raw[0] == b"upgrading" or raw[0] == "upgrading":
            raise SitesStoreUpgradingError("the sites store is being upgraded")
        return ReportSummary(created=int(raw[1]), updated=int(raw[2]), unchanged=int(raw[3]))

    async def release(self, site_id: str) -> Released | None:
        owner = ""  # the first try learns the owner ("moved"), the second releases
        for _ in range(MAX_RELEASE_TRIES + 1):
            raw = [
                _text(item)
                for item in await self._release(
                    keys=calls.release_keys(site_id, owner), args=[site_id, owner]
                )
            ]
            if raw[0] == "released":
                return Released(raw[1], bool(int(raw[2])))
            if raw[0] == "unknown":
                return None
            if raw[0] == "upgrading":
                raise SitesStoreUpgradingError("the sites store is being upgraded")
            owner = raw[1]
        raise RuntimeError(f"site {site_id!r} changed owner {MAX_RELEASE_TRIES} times meanwhile")

    async def layout(self) -> str:
        """``2``, ``migrating``, ``1`` (a v1 store) or ``empty``."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(names.SITES_FORMAT_KEY)
            pipe.exists(names.SITE_OWNER_KEY)
            live, v1 = await pipe.execute()
        if live:
            return _text(live)
        return "1" if v1 else "empty"

    async def registered(self, city: str) -> int:
        """How many site ids the city holds."""
        return int(await self._redis.get(names.city_site_count_key(city)) or 0)

    async def stored(self, site_ids: Sequence[str]) -> dict[str, StoredFacts]:
        """The stored sites of these ids (those nobody holds are left out)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for site_id in site_ids:
                pipe.hget(calls.bucket_key(site_id), site_id)
            pipe.hgetall(names.SITE_CITY_IDS_KEY)
            *values, city_ids = await pipe.execute()
        cities = {_text(k)[1:]: _text(v) for k, v in city_ids.items() if _text(k)[:1] == "#"}
        decoded = {
            site_id: StoredSite.decode(_text(value))
            for site_id, value in zip(site_ids, values, strict=True)
            if value is not None
        }
        owners = sorted({cities[site.owner_id] for site in decoded.values()})
        words = {owner: await self._words(owner) for owner in owners}
        found = {}
        for site_id, site in decoded.items():
            owner = cities[site.owner_id]
            found[site_id] = StoredFacts(
                owner,
                v1_version(site.version) if site.version else "",
                site.facts(words[owner]),
            )
        return found

    async def _words(self, city: str) -> dict[str, str]:
        stored = await self._redis.hgetall(names.city_site_words_key(city))
        return {_text(v): _text(k) for k, v in stored.items()}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
