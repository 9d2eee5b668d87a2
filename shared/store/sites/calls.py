"""The keys and arguments of the family's scripts (pure: no Redis), in the order the Lua in
``shared.store.sites.scripts`` reads them."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from shared import names
from shared.store.sites.encoding import BUCKETS, bucket_of, site_core
from shared.wire import Site


@functools.cache
def _bucket_keys() -> tuple[str, ...]:
    return tuple(names.site_bucket_key(bucket) for bucket in range(BUCKETS))


def bucket_key(site_id: str) -> str:
    return _bucket_keys()[bucket_of(site_id)]


def bucket_keys(site_ids: Sequence[str]) -> list[str]:
    keys = _bucket_keys()
    return [keys[bucket_of(site_id)] for site_id in site_ids]


def apply_keys(city: str, site_ids: Sequence[str]) -> list[str]:
    """``sites_apply``'s keys (also the preview's)."""
    return [
        names.SITES_FORMAT_KEY,
        names.SITE_OWNER_KEY,
        names.SITE_CITY_IDS_KEY,
        names.city_site_count_key(city),
        names.city_site_words_key(city),
        names.city_site_days_key(city),
        *bucket_keys(site_ids),
    ]


def apply_args(
    city: str,
    max_sites: int,
    version: str,
    sites: Sequence[Site],
    rejected_fields: tuple[str, str] = ("", ""),
) -> list[str]:
    """``sites_apply``'s arguments. District and band texts go once per report (they repeat
    across its sites), each site naming them by position: the script resolves each distinct
    pair of positions once."""
    words: dict[str, int] = {}
    refs_of: dict[tuple[str | None, str | None], str] = {}
    per_site: list[str] = []
    for site in sites:
        pair = (site.district, site.band)
        refs = refs_of.get(pair)
        if refs is None:
            district = words.setdefault(site.district, len(words) + 1) if site.district else ""
            band = words.setdefault(site.band, len(words) + 1) if site.band else ""
            refs = refs_of[pair] = f"{district},{band}"
        core = site_core(site.status, site.commissioned_on, site.operator, site.lat, site.lon)
        per_site.append(f"{site.site_id}\t{core}\t{refs}")
    return [
        city,
        str(max_sites),
        version,
        *rejected_fields,
        str(len(words)),
        *words,
        *per_site,
    ]


def claim_keys(city: str, site_ids: Sequence[str]) -> list[str]:
    """The keys the accept script's owner and ceiling check reads (``sites_claims``)."""
    return [
        names.SITES_FORMAT_KEY,
        names.SITE_OWNER_KEY,
        names.SITE_CITY_IDS_KEY,
        names.city_site_count_key(city),
        *bucket_keys(site_ids),
    ]


def release_keys(site_id: str, owner: str) -> list[str]:
    return [
        names.SITES_FORMAT_KEY,
        names.SITE_OWNER_KEY,
        bucket_key(site_id),
        names.SITE_CITY_IDS_KEY,
        names.city_site_count_key(owner),
        names.city_site_days_key(owner),
        names.STATE_GENERATION_KEY,
    ]
