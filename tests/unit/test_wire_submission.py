"""``encode_submission`` gives exactly the payload and fingerprint of ``encode_payload`` and
``body_fingerprint`` (shared/wire.py): it only saves the ingest a second serialisation, and writes
a 5G report's sites with pydantic-core instead of ``json``."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.domain.state import ReportKind
from shared.wire import (
    _UNSAFE,
    SHANDONG_LAT,
    SHANDONG_LON,
    GigabitReport,
    Site,
    SitesReport,
    body_fingerprint,
    encode_payload,
    encode_submission,
    in_column_order,
)
from tests.support.reports import gigabit_report, site, sites_report

SITES_BODIES: list[dict[str, Any]] = [
    sites_report(site("JN-1"), site("JN-2", district='历下区 "east", report_id')),
    sites_report(site("JN-1"), report_id="jinan-2024-07.a:b-c"),
    sites_report(site("report_id", district=',"report_id":"report_id"'), report_id="report_id"),
    sites_report(report_id="empty-report"),
]
GIGABIT_BODIES: list[dict[str, Any]] = [
    gigabit_report({"household_gigabit_coverage_pct": 112.4}),
    gigabit_report({"report_id": 1.0, "bs_5g_per_10k": 21.7}, report_id="report_id"),
]


@pytest.mark.parametrize("body", SITES_BODIES)
def test_a_sites_submission_encodes_like_payload_and_fingerprint(body: dict[str, Any]) -> None:
    report = SitesReport.model_validate_json(json.dumps(body))
    assert encode_submission("jinan", ReportKind.SITES, report) == (
        encode_payload(report),
        body_fingerprint("jinan", ReportKind.SITES, report),
    )


@pytest.mark.parametrize("body", GIGABIT_BODIES)
def test_a_gigabit_submission_encodes_like_payload_and_fingerprint(body: dict[str, Any]) -> None:
    report = GigabitReport.model_validate_json(json.dumps(body))
    assert encode_submission("qingdao", ReportKind.GIGABIT, report) == (
        encode_payload(report),
        body_fingerprint("qingdao", ReportKind.GIGABIT, report),
    )


def test_the_same_body_with_another_report_id_has_the_same_fingerprint() -> None:
    first = SitesReport.model_validate_json(json.dumps(sites_report(site("A"), report_id="one")))
    second = SitesReport.model_validate_json(json.dumps(sites_report(site("A"), report_id="two")))
    assert (
        encode_submission("jinan", ReportKind.SITES, first)[1]
        == encode_submission("jinan", ReportKind.SITES, second)[1]
    )


_SAFE_CHARS = st.characters(
    exclude_categories=("Cs",),  # a lone surrogate: pydantic-core refuses the body
    exclude_characters=set(map(chr, range(0x20))) | set(map(chr, range(0x7F, 0xA0))),
).filter(lambda char: _UNSAFE.search(char) is None)
_TEXT = st.text(_SAFE_CHARS, min_size=1, max_size=20)
_SITE_ID = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:/-]{0,20}\Z")


@st.composite
def _sites(draw: st.DrawFn) -> dict[str, Any]:
    body = site(
        draw(_SITE_ID),
        operator=draw(st.sampled_from(["china_mobile", "china_unicom", "china_broadnet"])),
        status=draw(st.sampled_from(["in_service", "decommissioned"])),
        commissioned_on=draw(st.dates(date(2019, 1, 1), date(2030, 12, 31))).isoformat(),
        lat=draw(st.floats(*SHANDONG_LAT) | st.integers(35, 38)),
        lon=draw(st.floats(*SHANDONG_LON) | st.integers(115, 122)),
    )
    for optional in ("district", "band"):
        choice = draw(st.sampled_from(["absent", "null", "text"]))
        if choice == "null":
            body[optional] = None
        elif choice == "text":
            body[optional] = draw(_TEXT)
    return body


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_sites(), max_size=5),
    st.none() | st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,10}\Z"),
)
def test_any_sites_report_is_written_by_pydantic_core_exactly_as_by_json(
    sites: list[dict[str, Any]], report_id: str | None
) -> None:
    """The fast path (``Site`` serialised by pydantic-core) writes the very text ``json`` writes,
    for every value a valid site can hold: a fingerprint stored by an older ingest still matches a
    retry answered by a newer one."""
    body = sites_report(*sites) | ({"report_id": report_id} if report_id else {})
    report = SitesReport.model_validate_json(json.dumps(body))
    assert encode_submission("jinan", ReportKind.SITES, report) == (
        encode_payload(report),
        body_fingerprint("jinan", ReportKind.SITES, report),
    )


def test_a_site_is_shown_in_column_order_though_declared_in_name_order() -> None:
    assert list(Site.model_fields) == sorted(Site.model_fields)  # what the fast path relies on
    assert sorted(Site.COLUMNS) == sorted(Site.model_fields)
    schema = SitesReport.model_json_schema()["$defs"]["Site"]
    assert list(schema["properties"]) == list(Site.COLUMNS)
    assert schema["required"] == ["site_id", "operator", "status", "commissioned_on", "lat", "lon"]


def test_a_sites_problems_are_listed_in_column_order() -> None:
    bad = {"site_id": "", "operator": "x", "status": "in_service", "lat": 99, "lon": 117.1}
    with pytest.raises(ValidationError) as refused:
        Site.model_validate_json(json.dumps(bad))
    assert [e["loc"] for e in in_column_order(refused.value.errors())] == [
        ("site_id",),
        ("operator",),
        ("commissioned_on",),
        ("lat",),
    ]
    body = sites_report(site("JN-1"), bad, site("JN-3", lat=1), period="1999-01")
    with pytest.raises(ValidationError) as refused:
        SitesReport.model_validate_json(json.dumps(body))
    assert [e["loc"] for e in in_column_order(refused.value.errors())] == [
        ("period",),
        ("sites", 1, "site_id"),
        ("sites", 1, "operator"),
        ("sites", 1, "commissioned_on"),
        ("sites", 1, "lat"),
    ]  # fail_fast: the sites after the first bad one are not looked at
