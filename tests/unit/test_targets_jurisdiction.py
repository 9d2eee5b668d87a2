"""A targets file's ``jurisdiction``: Shandong's 16 cities by default, any country's cities when
``national`` (shared/targets/loader.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from shared.targets import DEFAULT_TARGETS_FILE, TargetsError
from shared.targets.loader import parse_targets

Document = dict[str, Any]


def national_city(index: int, **changes: Any) -> Document:
    city: Document = {
        "id": f"city-{index:04d}",
        "code": f"{110000 + index * 100:06d}",
        "name": f"城市{index:04d}",
        "name_en": f"City {index:04d}",
        "population": 5_000_000,
        "baseline_sites": 10_000,
        "quotas": {"5g-2025": 3_000},
    }
    return city | changes


def with_cities(doc: Document, cities: list[Document]) -> Document:
    doc["cities"] = cities
    doc["site_baseline"]["province_sites"] = sum(c["baseline_sites"] for c in cities)
    rollout = next(p for p in doc["programs"] if p["id"] == "5g-2025")
    rollout["province_target_new"] = sum(c["quotas"]["5g-2025"] for c in cities)
    return doc


@pytest.fixture
def shipped_document() -> Document:
    loaded: Document = yaml.safe_load(DEFAULT_TARGETS_FILE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def national(shipped_document: Document) -> Document:
    """The shipped programmes over three synthetic cities of a national file."""
    doc = {"jurisdiction": "national", **copy.deepcopy(shipped_document)}
    return with_cities(doc, [national_city(i) for i in range(1, 4)])


def test_a_file_without_jurisdiction_is_shandong(shipped_document: Document) -> None:
    declared = {"jurisdiction": "shandong", **shipped_document}
    assert parse_targets(declared) == parse_targets(shipped_document)


def test_a_shandong_file_still_refuses_a_city_outside_the_province(
    national: Document,
) -> None:
    national["jurisdiction"] = "shandong"
    with pytest.raises(TargetsError, match=r"unknown city id 'city-0001'"):
        parse_targets(national)


def test_a_national_file_accepts_cities_outside_shandong(national: Document) -> None:
    targets = parse_targets(national)
    assert list(targets.cities) == ["city-0001", "city-0002", "city-0003"]
    assert targets.cities["city-0002"].code == "110200"


def test_a_national_file_may_list_shandong_cities_among_others(
    national: Document, shipped_document: Document
) -> None:
    jinan = next(c for c in shipped_document["cities"] if c["id"] == "jinan")
    with_cities(national, [*national["cities"], jinan])
    assert "jinan" in parse_targets(national).cities


def test_a_national_file_of_340_cities_loads(national: Document) -> None:
    with_cities(national, [national_city(i) for i in range(1, 341)])
    assert len(parse_targets(national).cities) == 340


def bad_id(doc: Document) -> None:
    doc["cities"][1]["id"] = "City 2"


def bad_code(doc: Document) -> None:
    doc["cities"][1]["code"] = "1102"


def shared_code(doc: Document) -> None:
    doc["cities"][1]["code"] = doc["cities"][0]["code"]


def twice(doc: Document) -> None:
    with_cities(doc, [*doc["cities"], copy.deepcopy(doc["cities"][0])])


def laiwu(doc: Document) -> None:
    doc["cities"][1] |= {"id": "laiwu", "code": "371200"}


def retired_in_file(doc: Document) -> None:
    doc["retired_cities"].append({"id": "city-0003", "code": "110300", "note": "merged"})


def retired_code_in_file(doc: Document) -> None:
    doc["retired_cities"].append({"id": "old-town", "code": "110300", "note": "merged"})


def unknown_jurisdiction(doc: Document) -> None:
    doc["jurisdiction"] = "world"


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (bad_id, r"cities\[1\] \(City 2\): city id 'City 2' is not a lowercase slug"),
        (bad_code, r"cities\[1\] \(city-0002\): code '1102' is not a 6-digit administrative"),
        (shared_code, r"cities\[1\] \(city-0002\): code 110100 is already used by city-0001"),
        (twice, r"cities\[3\] \(city-0001\): city listed twice"),
        (laiwu, r"laiwu/371200 is not a city of the province"),
        (retired_in_file, r"cities\[2\] \(city-0003\): city-0003/110300 is listed under retired"),
        (retired_code_in_file, r"city-0003/110300 is listed under retired_cities"),
        (unknown_jurisdiction, r"jurisdiction: Input should be 'shandong' or 'national'"),
    ],
)
def test_a_national_file_still_refuses_malformed_duplicate_and_retired_cities(
    national: Document, breakage: Callable[[Document], None], message: str
) -> None:
    breakage(national)
    with pytest.raises(TargetsError, match=message):
        parse_targets(national, source="national.yaml")
