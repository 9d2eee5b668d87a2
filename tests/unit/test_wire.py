"""Report bodies as cities send them, and stream entries (shared/wire.py).

Bodies are validated from JSON text, as they arrive over HTTP and sit on the reports stream.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from services.ingest.errors import ApiError
from services.ingest.validation import parse_body, run_now
from shared.domain.state import ReportKind
from shared.targets import load_targets
from shared.wire import (
    MAX_SITES_PER_REPORT,
    GigabitReport,
    ProgressEvent,
    ReportEnvelope,
    SitesReport,
    body_fingerprint,
    encode_payload,
)

Body = dict[str, Any]
Loc = tuple[int | str, ...]

SITE: Body = {
    "site_id": "JN-0001",
    "operator": "china_mobile",
    "status": "in_service",
    "commissioned_on": "2024-06-03",
    "lat": 36.65,
    "lon": 117.12,
}


def sites_body(count: int = 3) -> Body:
    sites = [dict(SITE, site_id=f"JN-{i:04d}") for i in range(count)]
    return {
        "report_id": "jinan-2024-06",
        "period": "2024-06",
        "as_of": "2024-06-30",
        "sites": sites,
    }


GIGABIT_BODY: Body = {
    "period": "2024-06",
    "as_of": "2024-06-30",
    "indicators": {"household_gigabit_coverage_pct": 104.5, "bb_1000m_users": 251000},
}


def errors_of(model: type[BaseModel], raw: str) -> list[tuple[str, Loc]]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate_json(raw)
    return [(e["type"], e["loc"]) for e in raised.value.errors()]


def sites_errors(body: Body) -> list[tuple[str, Loc]]:
    return errors_of(SitesReport, json.dumps(body))


def parse_sites(body: Body) -> SitesReport:
    return SitesReport.model_validate_json(json.dumps(body))


# --- valid bodies ---------------------------------------------------------------------------


def test_a_valid_sites_report_parses() -> None:
    body = sites_body(2)
    body["sites"][1] |= {"district": "历下区", "band": "n78", "status": "decommissioned"}
    report = parse_sites(body)
    assert report.report_id == "jinan-2024-06"
    assert report.period == "2024-06"
    assert report.as_of == date(2024, 6, 30)
    assert [s.site_id for s in report.sites] == ["JN-0000", "JN-0001"]
    first, second = report.sites
    assert first.commissioned_on == date(2024, 6, 3)
    assert (first.lat, first.lon) == (36.65, 117.12)
    assert (first.district, first.band) == (None, None)
    assert (second.status, second.district, second.band) == ("decommissioned", "历下区", "n78")


def test_an_empty_site_list_is_a_report_and_the_id_is_optional() -> None:
    report = parse_sites({"period": "2024-06", "as_of": "2024-06-30", "sites": []})
    assert report.sites == []
    assert report.report_id is None


def test_a_valid_gigabit_report_parses() -> None:
    report = GigabitReport.model_validate_json(json.dumps(GIGABIT_BODY))
    assert report.indicators == {"household_gigabit_coverage_pct": 104.5, "bb_1000m_users": 251000}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lat", 34.3),
        ("lat", 38.5),
        ("lon", 114.6),
        ("lon", 122.8),
        ("lat", 37),  # an integer is a number
    ],
)
def test_the_bounding_box_edges_are_inside_shandong(field: str, value: float) -> None:
    body = sites_body(1)
    body["sites"][0][field] = value
    assert getattr(parse_sites(body).sites[0], field) == value


@pytest.mark.parametrize(
    "operator", ["china_mobile", "china_unicom", "china_telecom", "china_broadnet"]
)
def test_every_operator_is_accepted(operator: str) -> None:
    body = sites_body(1)
    body["sites"][0]["operator"] = operator
    assert parse_sites(body).sites[0].operator == operator


# --- static rules -------------------------------------------------------------------------------


def with_change(path: Loc, value: Any) -> Body:
    """sites_body() with the value at ``path`` replaced (or added)."""
    body = sites_body()
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return body


def without(path: Loc) -> Body:
    body = sites_body()
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return body


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # unknown fields, at the top and on a site
        pytest.param(
            with_change(("city",), "jinan"), [("extra_forbidden", ("city",))], id="extra top"
        ),
        pytest.param(
            with_change(("sites", 1, "height_m"), 30),
            [("extra_forbidden", ("sites", 1, "height_m"))],
            id="extra site",
        ),
        # period
        pytest.param(
            with_change(("period",), "2024-6"),
            [("string_pattern_mismatch", ("period",))],
            id="period 2024-6",
        ),
        pytest.param(
            with_change(("period",), "2024-13"),
            [("string_pattern_mismatch", ("period",))],
            id="period 2024-13",
        ),
        pytest.param(
            with_change(("period",), "2024-00"),
            [("string_pattern_mismatch", ("period",))],
            id="period 2024-00",
        ),
        pytest.param(
            with_change(("period",), "2024-06-01"),
            [("string_pattern_mismatch", ("period",))],
            id="period a date",
        ),
        pytest.param(
            with_change(("period",), "2024-06\n"),
            [("string_pattern_mismatch", ("period",))],
            id="period trailing newline",
        ),
        pytest.param(
            with_change(("period",), 202406), [("string_type", ("period",))], id="period number"
        ),
        pytest.param(without(("period",)), [("missing", ("period",))], id="period missing"),
        # as_of: only the text form YYYY-MM-DD
        pytest.param(
            with_change(("as_of",), 20240630), [("date_type", ("as_of",))], id="as_of number"
        ),
        pytest.param(with_change(("as_of",), None), [("date_type", ("as_of",))], id="as_of null"),
        pytest.param(
            with_change(("as_of",), "2024/06/30"),
            [("date_parsing", ("as_of",))],
            id="as_of slashes",
        ),
        pytest.param(
            with_change(("as_of",), "2024-06-31"),
            [("date_parsing", ("as_of",))],
            id="as_of no such day",
        ),
        pytest.param(
            with_change(("sites", 0, "commissioned_on"), 1717372800),
            [("date_type", ("sites", 0, "commissioned_on"))],
            id="commissioned_on timestamp",
        ),
        # the bounding box
        pytest.param(
            with_change(("sites", 2, "lat"), 34.29),
            [("outside_shandong", ("sites", 2, "lat"))],
            id="lat south",
        ),
        pytest.param(
            with_change(("sites", 2, "lat"), 38.51),
            [("outside_shandong", ("sites", 2, "lat"))],
            id="lat north",
        ),
        pytest.param(
            with_change(("sites", 1, "lon"), 114.59),
            [("outside_shandong", ("sites", 1, "lon"))],
            id="lon west",
        ),
        pytest.param(
            with_change(("sites", 0, "lon"), 122.81),
            [("outside_shandong", ("sites", 0, "lon"))],
            id="lon east",
        ),
        pytest.param(
            with_change(("sites", 0, "lat"), 117.12),
            [("outside_shandong", ("sites", 0, "lat"))],
            id="lat and lon swapped",
        ),
        # operator and status
        pytest.param(
            with_change(("sites", 1, "operator"), "China Mobile"),
            [("literal_error", ("sites", 1, "operator"))],
            id="operator spelled",
        ),
        pytest.param(
            with_change(("sites", 1, "operator"), "cmcc"),
            [("literal_error", ("sites", 1, "operator"))],
            id="operator unknown",
        ),
        pytest.param(
            with_change(("sites", 2, "status"), "planned"),
            [("literal_error", ("sites", 2, "status"))],
            id="status planned",
        ),
        pytest.param(
            with_change(("sites", 2, "status"), "IN_SERVICE"),
            [("literal_error", ("sites", 2, "status"))],
            id="status case",
        ),
        # identifiers
        pytest.param(
            with_change(("sites", 0, "site_id"), ""),
            [("string_too_short", ("sites", 0, "site_id"))],
            id="site_id empty",
        ),
        pytest.param(
            with_change(("sites", 0, "site_id"), "JN 0001"),
            [("string_pattern_mismatch", ("sites", 0, "site_id"))],
            id="site_id with space",
        ),
        pytest.param(
            with_change(("report_id",), "../etc"),
            [("string_pattern_mismatch", ("report_id",))],
            id="report_id path",
        ),
        pytest.param(
            with_change(("sites",), {"JN-1": SITE}), [("list_type", ("sites",))], id="sites map"
        ),
    ],
)
def test_each_static_rule_names_its_error_type_and_location(
    body: Body, expected: list[tuple[str, Loc]]
) -> None:
    assert sites_errors(body) == expected


def test_the_model_stops_at_the_first_bad_site_and_the_ingest_lists_every_one() -> None:
    body = sites_body(4)
    body["sites"][1]["lat"] = 30.0
    body["sites"][3]["operator"] = "other"
    assert sites_errors(body) == [("outside_shandong", ("sites", 1, "lat"))]
    with pytest.raises(ApiError) as refused:
        run_now(parse_body(json.dumps(body).encode(), SitesReport, load_targets()))
    assert [(e.code, e.loc) for e in refused.value.errors] == [
        ("outside_shandong", ["body", "sites", 1, "lat"]),
        ("literal_error", ["body", "sites", 3, "operator"]),
    ]


def test_the_bounding_box_error_says_which_axis_and_the_bounds() -> None:
    body = with_change(("sites", 0, "lon"), 130.0)
    with pytest.raises(ValidationError) as raised:
        parse_sites(body)
    (error,) = raised.value.errors()
    assert error["msg"] == "longitude 130.0 is outside Shandong's bounding box (114.6 to 122.8)"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize("field", ["lat", "lon"])
def test_coordinates_must_be_finite_numbers(field: str, literal: str) -> None:
    body = with_change(("sites", 1, field), "__X__")
    raw = json.dumps(body).replace('"__X__"', literal)  # not expressible with json.dumps
    assert errors_of(SitesReport, raw) == [("finite_number", ("sites", 1, field))]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_indicator_values_must_be_finite_numbers(literal: str) -> None:
    raw = json.dumps(GIGABIT_BODY).replace("104.5", literal)
    assert errors_of(GigabitReport, raw) == [
        ("finite_number", ("indicators", "household_gigabit_coverage_pct"))
    ]


def test_a_gigabit_report_refuses_unknown_top_level_fields() -> None:
    body = GIGABIT_BODY | {"sites": []}
    assert errors_of(GigabitReport, json.dumps(body)) == [("extra_forbidden", ("sites",))]


def test_at_most_10000_sites_per_report() -> None:
    body = sites_body(1)
    site = json.dumps(body["sites"][0])
    head = json.dumps({k: v for k, v in body.items() if k != "sites"})[:-1]

    def raw(count: int) -> str:
        return f'{head}, "sites": [{", ".join([site] * count)}]}}'

    assert MAX_SITES_PER_REPORT == 10_000
    assert len(SitesReport.model_validate_json(raw(10_000)).sites) == 10_000
    assert errors_of(SitesReport, raw(10_001)) == [("too_long", ("sites",))]


# --- fingerprints -----------------------------------------------------------------------------


def reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value


def fingerprint(body: Body, city: str = "jinan", kind: ReportKind = ReportKind.SITES) -> str:
    return body_fingerprint(city, kind, parse_sites(body))


def test_the_fingerprint_ignores_key_order() -> None:
    body = sites_body()
    shuffled = reversed_keys(body)
    assert json.dumps(shuffled) != json.dumps(body)
    assert fingerprint(shuffled) == fingerprint(body)


def test_the_fingerprint_ignores_the_report_id_and_absent_optionals() -> None:
    body = sites_body()
    other = copy.deepcopy(body)
    other["report_id"] = "another-id"
    other["sites"][0]["district"] = None
    del body["report_id"]
    assert fingerprint(other) == fingerprint(body)


def test_the_fingerprint_is_a_sha256_hex_digest() -> None:
    value = fingerprint(sites_body())
    assert len(value) == 64
    assert int(value, 16) >= 0


@pytest.mark.parametrize(
    ("change", "city", "kind"),
    [
        pytest.param(None, "qingdao", ReportKind.SITES, id="other city"),
        pytest.param(None, "jinan", ReportKind.GIGABIT, id="other kind"),
        pytest.param((("sites", 0, "lat"), 36.650001), "jinan", ReportKind.SITES, id="lat"),
        pytest.param(
            (("sites", 2, "status"), "decommissioned"), "jinan", ReportKind.SITES, id="st"
        ),
        pytest.param((("as_of",), "2024-06-29"), "jinan", ReportKind.SITES, id="as_of"),
        pytest.param((("period",), "2024-05"), "jinan", ReportKind.SITES, id="period"),
        pytest.param((("sites", 1, "band"), "n41"), "jinan", ReportKind.SITES, id="band added"),
    ],
)
def test_the_fingerprint_differs_across_city_kind_or_content(
    change: tuple[Loc, Any] | None, city: str, kind: ReportKind
) -> None:
    original = fingerprint(sites_body())
    body = with_change(*change) if change else sites_body()
    assert fingerprint(body, city, kind) != original


def test_the_fingerprint_follows_site_order() -> None:
    # a report is a list: the same sites in another order are another submission
    body = sites_body()
    reordered = copy.deepcopy(body)
    reordered["sites"].reverse()
    assert fingerprint(reordered) != fingerprint(body)


# --- stream entries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "received_at",
    [
        datetime(2024, 7, 15, 4, 0, 0, 123_456, tzinfo=UTC),
        datetime(2024, 7, 15, 12, 0, tzinfo=timezone(timedelta(hours=8))),
    ],
)
def test_a_report_envelope_round_trips_through_its_fields(received_at: datetime) -> None:
    report = parse_sites(sites_body())
    envelope = ReportEnvelope(
        report_id="jinan-2024-06",
        city="jinan",
        kind=ReportKind.SITES,
        received_at=received_at,
        payload=encode_payload(report),
    )
    fields = envelope.fields()
    assert all(isinstance(v, str) for v in fields.values())
    assert fields["kind"] == "5g-sites"
    again = ReportEnvelope.from_fields(fields)
    assert again == envelope
    assert again.received_at.utcoffset() == received_at.utcoffset()
    assert again.report() == report


def test_a_gigabit_envelope_yields_a_gigabit_report() -> None:
    report = GigabitReport.model_validate_json(json.dumps(GIGABIT_BODY))
    envelope = ReportEnvelope(
        "r-1",
        "qingdao",
        ReportKind.GIGABIT,
        datetime(2024, 7, 1, tzinfo=UTC),
        encode_payload(report),
    )
    again = ReportEnvelope.from_fields(envelope.fields()).report()
    assert isinstance(again, GigabitReport)
    assert again == report


def test_the_payload_is_canonical_json() -> None:
    body = sites_body()
    assert encode_payload(parse_sites(reversed_keys(body))) == encode_payload(parse_sites(body))
    payload = encode_payload(parse_sites(body))
    assert payload == json.dumps(
        json.loads(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"report_id": "r", "city": "jinan", "kind": "5g-sites", "payload": "{}"}, KeyError),
        (
            {
                "report_id": "r",
                "city": "jinan",
                "kind": "4g-sites",
                "received_at": "2024-07-01T00:00:00+00:00",
                "payload": "{}",
            },
            ValueError,
        ),
        (
            {
                "report_id": "r",
                "city": "jinan",
                "kind": "gigabit",
                "received_at": "yesterday",
                "payload": "{}",
            },
            ValueError,
        ),
    ],
)
def test_a_poison_stream_entry_is_refused(fields: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        ReportEnvelope.from_fields(fields)


def test_a_progress_event_round_trips_through_its_fields() -> None:
    event = ProgressEvent("r-1", "jinan", ReportKind.GIGABIT, datetime(2024, 7, 1, 8, tzinfo=UTC))
    assert ProgressEvent.from_fields(event.fields()) == event
