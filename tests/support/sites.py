"""The sites family seen from a test's synchronous client: who holds a site, how many a city
holds, and sites registered as an applied report registers them (the family's own ``sites_apply``
and argument builders, without a report record around them)."""

from __future__ import annotations

from datetime import date

import redis

from shared import names
from shared.store.sites import calls, scripts
from shared.store.sites.encoding import compact_version
from shared.wire import Site

_REGISTER = scripts.FUNCTIONS + "\nreturn sites_apply(0, 1, true)\n"


def register(
    client: redis.Redis, city: str, *sites: Site, as_of: str = "2024-06-30", entry: str = "1-0"
) -> list[object]:
    """Stores ``sites`` as applying a report of ``city`` (as of ``as_of``, stream entry
    ``entry``) stores them; returns the family's answer ({'done', created, updated, unchanged})."""
    ids = [site.site_id for site in sites]
    version = compact_version(date.fromisoformat(as_of), entry)
    answer: list[object] = client.eval(  # type: ignore[assignment]
        _REGISTER,
        len(ids) + 6,
        *calls.apply_keys(city, ids),
        *calls.apply_args(city, 0, version, list(sites)),
    )
    return answer


def owner(client: redis.Redis, site_id: str) -> str | None:
    value = client.hget(calls.bucket_key(site_id), site_id)
    if value is None:
        return None
    return str(client.hget(names.SITE_CITY_IDS_KEY, "#" + str(value)[:2]))


def registered(client: redis.Redis, city: str) -> int:
    """How many site ids the city holds."""
    return int(client.get(names.city_site_count_key(city)) or 0)  # type: ignore[arg-type]


def held(client: redis.Redis) -> int:
    """How many site ids any city holds."""
    return sum(
        int(client.get(key) or 0)  # type: ignore[arg-type]
        for key in client.scan_iter(names.city_site_count_key("*"))
    )


def register_ids(
    client: redis.Redis, city: str, *site_ids: str, commissioned_on: str = "2024-06-01"
) -> None:
    """Registers the ids to ``city`` as in-service sites (as an applied report would)."""
    sites = [
        Site(
            site_id=site_id,
            operator="china_mobile",
            status="in_service",
            commissioned_on=date.fromisoformat(commissioned_on),
            lat=36.65,
            lon=117.12,
        )
        for site_id in site_ids
    ]
    register(client, city, *sites)
