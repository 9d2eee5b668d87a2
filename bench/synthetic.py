"""Synthetic targets files and site records for benchmarks at any number of cities.

Up to 16 cities, the file is the shipped Shandong file cut to its first N cities (real ids, so the
figures read like the province's). Beyond 16, it declares ``jurisdiction: national`` and lists
synthetic cities ``city-0001``, ``city-0002``, ... with unique 6-digit codes: the loader checks
those like any national file, so the services run on it unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from shared.targets.loader import DEFAULT_TARGETS_FILE, RETIRED_CITY_CODES
from shared.wire import SHANDONG_LAT, SHANDONG_LON

SHANDONG_CITIES = 16
DEFAULT_SITES_PER_CITY = 12_500
"""The province's 200,000 baseline sites over its 16 cities."""
QUOTA_SHARE = 0.35
"""New-site quota as a share of the baseline (70,000 / 200,000 in the shipped file)."""
PEOPLE_PER_SITE = 500
"""Population per baseline site (about 20 sites per 10,000 residents, as in Shandong in 2024)."""
OPERATORS = ("china_mobile", "china_unicom", "china_telecom", "china_broadnet")


def _shipped() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DEFAULT_TARGETS_FILE.read_text(encoding="utf-8"))
    return loaded


def synthetic_city_id(index: int) -> str:
    return f"city-{index + 1:04d}"


def _codes() -> Iterator[str]:
    """Unique 6-digit codes in GB/T 2260's shape (xxyy00), never a retired one."""
    retired = set(RETIRED_CITY_CODES.values())
    for number in range(110_000, 1_000_000, 100):
        code = f"{number:06d}"
        if code not in retired:
            yield code


def _synthetic_cities(count: int, sites_per_city: int) -> list[dict[str, Any]]:
    codes = _codes()
    return [
        {
            "id": synthetic_city_id(index),
            "code": next(codes),
            "name": f"城市{index + 1:04d}",
            "name_en": f"City {index + 1:04d}",
            "population": max(1, sites_per_city * PEOPLE_PER_SITE),
            "baseline_sites": sites_per_city,
            "quotas": {"5g-2025": max(1, round(sites_per_city * QUOTA_SHARE))},
            "gigabit_since": 2022,
        }
        for index in range(count)
    ]


def write_targets_file(path: Path, cities: int, *, sites_per_city: int | None = None) -> list[str]:
    """Write a valid targets file for ``cities`` cities to ``path``; return their ids in order.

    ``sites_per_city`` sets every city's baseline sites (and, in proportion, its quota and
    population); by default the shipped figures are kept up to 16 cities and 12,500 is used beyond.
    """
    if cities < 1:
        raise ValueError("a targets file needs at least one city")
    document = _shipped()
    if cities <= SHANDONG_CITIES:
        chosen: list[dict[str, Any]] = copy.deepcopy(document["cities"][:cities])
        if sites_per_city is not None:
            for city in chosen:
                city["baseline_sites"] = sites_per_city
                city["population"] = sites_per_city * PEOPLE_PER_SITE
                city["quotas"] = {"5g-2025": max(1, round(sites_per_city * QUOTA_SHARE))}
    else:
        document = {"jurisdiction": "national", **document}
        chosen = _synthetic_cities(cities, sites_per_city or DEFAULT_SITES_PER_CITY)
    document["cities"] = chosen
    # The province figures are sums over the listed cities; the loader insists they agree.
    document["site_baseline"]["province_sites"] = sum(c["baseline_sites"] for c in chosen)
    for program in document["programs"]:
        if program["kind"] == "site_rollout":
            program["province_target_new"] = sum(c["quotas"][program["id"]] for c in chosen)
    path.write_text(
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=200), encoding="utf-8"
    )
    return [str(city["id"]) for city in chosen]


def site_records(
    city: str, count: int, *, start: int = 0, day: str = "2024-06-12"
) -> list[dict[str, Any]]:
    """``count`` distinct, valid 5G site records of ``city`` as a report body lists them.

    Site ids are ``<city>-<n>`` from ``start``, so consecutive calls give new sites; coordinates
    lie inside Shandong's bounding box (the only box the wire format accepts).
    """
    lat_low, lat_high = SHANDONG_LAT
    lon_low, lon_high = SHANDONG_LON
    sites = []
    for n in range(start, start + count):
        sites.append(
            {
                "site_id": f"{city}-{n:07d}",
                "operator": OPERATORS[n % len(OPERATORS)],
                "status": "in_service",
                "commissioned_on": day,
                "lat": round(lat_low + 0.1 + (n * 0.000137) % (lat_high - lat_low - 0.2), 6),
                "lon": round(lon_low + 0.1 + (n * 0.000291) % (lon_high - lon_low - 0.2), 6),
                "district": "高新区",
                "band": "n41" if n % 3 else "n78",
            }
        )
    return sites
