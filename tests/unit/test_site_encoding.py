"""The compact v2 site value: every fact comes back as the report sent it, and versions order as
v1's text did."""

from __future__ import annotations

import random
from datetime import date

import pytest

from shared.store.sites.encoding import (
    BUCKETS,
    SiteFacts,
    StoredSite,
    base62,
    bucket_of,
    compact_version,
    encode_record,
    from_base62,
    preview_version,
    v1_version,
    version_from_v1,
)

FACTS = SiteFacts("in_service", date(2024, 6, 12), "china_mobile", 36.651, 117.12, "历下区", "n41")


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(36.651, 117.12), (34.3, 114.6), (38.5, 122.8), (36.123456789, 117.000000001), (35.1, 120.0)],
)
def test_a_record_decodes_to_the_very_floats_the_report_sent(lat: float, lon: float) -> None:
    facts = SiteFacts("decommissioned", date(2019, 1, 1), "china_broadnet", lat, lon, None, "n78")
    value = (
        "01"
        + compact_version(date(2024, 6, 30), "1720000000000-3")
        + encode_record(facts.core(), "", "2")
    )
    stored = StoredSite.decode(value)
    assert stored.facts({"2": "n78"}) == facts
    assert stored.facts({"2": "n78"}).v1_record() == facts.v1_record()  # type: ignore[union-attr]


def test_six_decimal_coordinates_take_four_characters_and_any_other_twelve() -> None:
    assert len(FACTS.core()) == 1 + 3 + 1 + 4 + 4
    odd = SiteFacts("in_service", date(2024, 6, 12), "china_mobile", 36.1234567, 117.12, None, None)
    assert len(odd.core()) == 1 + 3 + 1 + 12 + 4


def test_a_national_bench_site_value_stays_far_below_a_listpack_entry_limit() -> None:
    value = "0A" + compact_version(date(2024, 6, 30), "1720000000000-0")
    value += encode_record(FACTS.core(), "1", "2")
    assert len(value) == 31 < 64


def test_compact_versions_order_as_v1_text_did() -> None:
    rng = random.Random(17)
    entries = [
        (
            date(2024, 1, 1).fromordinal(rng.randrange(737_060, 740_000)),
            f"{rng.randrange(10**12, 3 * 10**12)}-{rng.randrange(5)}",
        )
        for _ in range(500)
    ]
    v1 = sorted(entries, key=lambda e: v1_version(compact_version(*e)))
    compact = sorted(entries, key=lambda e: compact_version(*e))
    assert v1 == compact
    for as_of, entry in entries:
        assert version_from_v1(v1_version(compact_version(as_of, entry))) == compact_version(
            as_of, entry
        )
        assert preview_version(as_of) > compact_version(as_of, entry)


def test_base62_fixed_width_numbers_compare_as_strings() -> None:
    numbers = sorted(random.Random(3).sample(range(62**3), 300))
    texts = [base62(n, 3) for n in numbers]
    assert texts == sorted(texts)
    assert [from_base62(t) for t in texts] == numbers
    with pytest.raises(ValueError):
        base62(62**3, 3)


def test_buckets_spread_site_ids_evenly_enough_to_stay_listpacks() -> None:
    counts = [0] * BUCKETS
    for n in range(400_000):
        counts[bucket_of(f"city-{n % 340:04d}-{n:07d}")] += 1
    assert max(counts) < 30  # mean 6.1: at 4 M sites the fullest stays well under 128
