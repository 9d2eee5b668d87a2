"""The sites family: the one owner of where and how Pacer stores 5G sites.

Keys (names in ``shared.names``): ``site_bucket_key`` (v2 index: site_id -> compact value),
``SITE_CITY_IDS_KEY``, ``city_site_count_key``, ``city_site_words_key``, ``city_site_days_key``,
``SITES_FORMAT_KEY`` and ``SITES_MIGRATION_KEY``; the v1 keys (``SITE_OWNER_KEY``,
``city_sites_key``) are read only by ``migration``. Who touches them:

- the aggregator's apply script runs ``scripts.sites_apply`` (writing);
- the ingest's accept script runs ``scripts.sites_claims`` (reading: owner and ceiling checks),
  and the ingest reaches the rest through ``SiteStore`` (preview, release);
- ``shared.store.state`` reads ``city_site_days_key`` (progress, exporter, alerting);
- ``pacer migrate`` (``migration``) moves a v1 store to v2.
"""

from shared.store.sites.store import (
    RedisSites,
    Released,
    SitesStoreUpgradingError,
    SiteStore,
    StoredFacts,
)

__all__ = ["RedisSites", "Released", "SiteStore", "SitesStoreUpgradingError", "StoredFacts"]
