"""Properties of report validation (shared/wire.py models + services/ingest/validation.py checks).

What the ingest does with a body, minus HTTP: parse it with the report model, then run the checks
against "now" and the targets. Hypothesis generates valid reports, reports with hostile values in
any field, and arbitrary JSON; the properties hold for all of them.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.errors import ApiError, ErrorItem
from services.ingest.validation import check_report, parse_body, run_now, value_bounds
from shared.domain.calendar import local_date
from shared.domain.state import ReportKind
from shared.targets import load_targets
from shared.wire import (
    EARLIEST_DAY,
    MAX_SITES_PER_REPORT,
    REPORT_MODELS,
    SHANDONG_LAT,
    SHANDONG_LON,
    Report,
    ReportEnvelope,
    body_fingerprint,
    encode_payload,
    encode_submission,
)

NOW = datetime(2024, 7, 15, 4, 0, tzinfo=UTC)  # noon in Shandong
TODAY = local_date(NOW)
TARGETS = load_targets()
GIGABIT = TARGETS.gigabit
CITY = "jinan"
POPULATION = TARGETS.cities[CITY].population
OPERATORS = ["china_mobile", "china_unicom", "china_telecom", "china_broadnet"]
STATUSES = ["in_service", "decommissioned"]
SITE_ID = r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}"
REPORT_ID = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"
UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200d\u2028-\u202e\u2060\u2066-\u2069\ufeff]")
"""contract section 3: control, bidi-override, zero-width and line-separator characters."""

PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Body = dict[str, Any]

# Strategies ------------------------------------------------------------------------------------


@st.composite
def period_and_as_of(draw: st.DrawFn) -> tuple[str, date]:
    as_of = draw(st.dates(min_value=date(2024, 1, 1), max_value=TODAY))
    return f"{as_of.year:04d}-{as_of.month:02d}", as_of


def free_text(max_size: int) -> st.SearchStrategy[str]:
    """Any script, right-to-left text, emoji; none of the characters the contract refuses."""
    return st.text(
        alphabet=st.characters(exclude_categories=("Cc", "Cs")).filter(
            lambda char: not UNSAFE.match(char)
        ),
        min_size=1,
        max_size=max_size,
    )


def coordinate(bounds: tuple[float, float]) -> st.SearchStrategy[float]:
    return st.floats(min_value=bounds[0], max_value=bounds[1], allow_nan=False)


@st.composite
def valid_site(draw: st.DrawFn, as_of: date, site_id: str) -> Body:
    site: Body = {
        "site_id": site_id,
        "operator": draw(st.sampled_from(OPERATORS)),
        "status": draw(st.sampled_from(STATUSES)),
        "commissioned_on": draw(st.dates(min_value=EARLIEST_DAY, max_value=as_of)).isoformat(),
        "lat": draw(coordinate(SHANDONG_LAT)),
        "lon": draw(coordinate(SHANDONG_LON)),
    }
    for key, size in (("district", 64), ("band", 32)):
        if draw(st.booleans()):
            site[key] = draw(free_text(size))
    return site


@st.composite
def valid_sites_report(draw: st.DrawFn) -> Body:
    period, as_of = draw(period_and_as_of())
    ids = draw(st.lists(st.from_regex(SITE_ID, fullmatch=True), max_size=15, unique=True))
    body: Body = {
        "period": period,
        "as_of": as_of.isoformat(),
        "sites": [draw(valid_site(as_of, site_id)) for site_id in ids],
    }
    if draw(st.booleans()):
        body["report_id"] = draw(st.from_regex(REPORT_ID, fullmatch=True))
    return body


@st.composite
def valid_gigabit_report(draw: st.DrawFn) -> Body:
    period, as_of = draw(period_and_as_of())
    chosen = draw(st.lists(st.sampled_from(GIGABIT.indicators), min_size=1, unique=True))
    indicators: Body = {}
    for indicator in chosen:
        low, high = value_bounds(indicator, POPULATION)
        if indicator.integer:
            indicators[indicator.key] = draw(st.integers(min_value=int(low), max_value=int(high)))
        else:
            indicators[indicator.key] = draw(
                st.floats(min_value=low, max_value=high, allow_nan=False)
            )
    body: Body = {"period": period, "as_of": as_of.isoformat(), "indicators": indicators}
    if draw(st.booleans()):
        body["report_id"] = draw(st.from_regex(REPORT_ID, fullmatch=True))
    return body


def valid_report() -> st.SearchStrategy[tuple[ReportKind, Body]]:
    return st.one_of(
        valid_sites_report().map(lambda body: (ReportKind.SITES, body)),
        valid_gigabit_report().map(lambda body: (ReportKind.GIGABIT, body)),
    )


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),  # NaN and the infinities included: json.dumps writes them as NaN/Infinity
    st.text(max_size=80),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)

HOSTILE_SCALARS = st.one_of(
    json_scalars,
    st.sampled_from(
        [
            "",
            "2024-13",
            "2024-7",
            "٢٠٢٤-07",  # Arabic-Indic digits
            "2024-07-32",
            "9999-12",
            "0000-01",
            "2024-07-10T00:00:00",
            "JN 1",
            "a" * 129,
            "\u202eJN-1",  # right-to-left override
            "JN\u200b-1",  # zero-width space
            "JN-\x001",
            "历下\u2028区",  # line separator
            "\u2066区\u2069",  # bidi isolates
            "\ufeff区",  # byte order mark
            "2018-12",
            "0001-01",
            "2018-12-31",
            -0.0,
            1e308,
            2**63,
            -1,
            101,
            500.5,
            1000.5,
            1e300,
            10**9,
            34.2999,
            122.80001,
        ]
    ),
)


@st.composite
def hostile_report(draw: st.DrawFn) -> tuple[ReportKind, Body]:
    """A valid report with a few fields (at any depth) replaced, added or removed."""
    kind, body = draw(valid_report())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        nested = body.get("sites") or [body.get("indicators")]
        target = body
        if isinstance(nested, list) and draw(st.booleans()):
            candidate = draw(st.sampled_from(nested))
            target = candidate if isinstance(candidate, dict) else body
        action = draw(st.sampled_from(["replace", "add", "remove"]))
        if action == "replace" and target:
            key = draw(st.sampled_from(sorted(target)))
            target[key] = draw(st.one_of(HOSTILE_SCALARS, json_values))
        elif action == "add":
            key = draw(st.one_of(st.sampled_from(sorted(target) or ["x"]), st.text(max_size=70)))
            target[key] = draw(HOSTILE_SCALARS)
        elif target:
            del target[draw(st.sampled_from(sorted(target)))]
    if kind is ReportKind.SITES and isinstance(body.get("sites"), list) and draw(st.booleans()):
        body["sites"] = body["sites"] + body["sites"][:1]  # the same site_id twice
    return kind, body


# Helpers ---------------------------------------------------------------------------------------


def ingest(kind: ReportKind, raw: str | bytes) -> tuple[Report | None, list[ErrorItem]]:
    """What the ingest decides about a body for Jinan: the report, or its problems with locs."""
    body = raw if isinstance(raw, bytes) else raw.encode()
    try:
        report = run_now(parse_body(body, REPORT_MODELS[kind], TARGETS))
    except ApiError as exc:
        return None, exc.errors
    return report, check_report(report, NOW, TARGETS, CITY).listed()


def points_into(doc: Any, loc: list[str | int]) -> bool:
    """Whether ``loc`` (``["body", ...]``) names a place in the parsed body: an existing value,
    a missing field of an existing object, or (pydantic's ``[key]``) a key itself."""
    if not loc or loc[0] != "body":
        return False
    node = doc
    steps = loc[1:]
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        in_object = isinstance(node, dict) and isinstance(step, str) and step in node
        in_array = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if in_object or in_array:
            node = node[step]
        elif last and isinstance(node, dict) and isinstance(step, str):
            return True  # a required field that is missing: named in its object
        else:
            return step == "[key]" and last
    return True


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def assert_meets_the_contract(kind: ReportKind, body: Body) -> None:
    """contract.md §3, rule by rule, checked on the JSON as sent (not on the parsed model)."""
    assert re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", body["period"])
    assert body["period"] <= f"{TODAY.year:04d}-{TODAY.month:02d}", "period in the future"
    assert body["period"] >= "2019-01", "period before 2019"
    as_of = date.fromisoformat(body["as_of"])
    assert body["as_of"] == as_of.isoformat(), "as_of is YYYY-MM-DD"
    assert body["as_of"].startswith(body["period"]), "as_of inside the period"
    assert as_of <= TODAY, "as_of after now"
    if body.get("report_id") is not None:
        assert re.fullmatch(REPORT_ID, body["report_id"])
    if kind is ReportKind.SITES:
        assert set(body) <= {"report_id", "period", "as_of", "sites"}
        sites = body["sites"]
        assert isinstance(sites, list) and len(sites) <= MAX_SITES_PER_REPORT
        ids = [site["site_id"] for site in sites]
        assert len(ids) == len(set(ids)), "a site_id twice in one report"
        for site in sites:
            assert set(site) <= {
                "site_id",
                "operator",
                "status",
                "commissioned_on",
                "lat",
                "lon",
                "district",
                "band",
            }
            assert re.fullmatch(SITE_ID, site["site_id"])
            assert site["operator"] in OPERATORS
            assert site["status"] in STATUSES
            assert EARLIEST_DAY <= date.fromisoformat(site["commissioned_on"]) <= as_of
            assert is_number(site["lat"]) and SHANDONG_LAT[0] <= site["lat"] <= SHANDONG_LAT[1]
            assert is_number(site["lon"]) and SHANDONG_LON[0] <= site["lon"] <= SHANDONG_LON[1]
            for key, size in (("district", 64), ("band", 32)):
                text = site.get(key)
                if text is not None:
                    assert isinstance(text, str) and 1 <= len(text) <= size
                    assert not UNSAFE.search(text)
    else:
        assert set(body) <= {"report_id", "period", "as_of", "indicators"}
        assert body["indicators"], "at least one indicator"
        for key, value in body["indicators"].items():
            indicator = GIGABIT.indicator(key)
            assert indicator is not None, f"unknown indicator {key}"
            assert is_number(value), f"{key}: {value!r} is not a finite JSON number"
            assert value >= 0, "negative percentage or count"
            if indicator.unit == "percent":
                assert value <= (500 if key == "household_gigabit_coverage_pct" else 100)
            if key == "bs_5g_per_10k":
                assert value <= 1_000
            if key == "bb_1000m_users":
                assert value <= POPULATION, "more users than residents"
            if indicator.integer:
                assert value == int(value)


# Properties ------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(valid_report())
def test_a_valid_report_is_accepted_and_crosses_the_stream_unchanged(
    case: tuple[ReportKind, Body],
) -> None:
    kind, body = case
    raw = json.dumps(body, ensure_ascii=False)
    report, errors = ingest(kind, raw)
    assert errors == []
    assert report is not None
    payload = encode_payload(report)
    assert json.loads(payload) == body
    envelope = ReportEnvelope("r-1", "jinan", kind, NOW, payload)
    decoded = ReportEnvelope.from_fields(envelope.fields()).report()
    assert decoded == report
    fingerprint = body_fingerprint("jinan", kind, report)
    assert body_fingerprint("jinan", kind, decoded) == fingerprint
    # What the ingest stores and compares comes from one shortcut serialisation: the same.
    assert encode_submission("jinan", kind, report) == (payload, fingerprint)


@PROPERTY_SETTINGS
@given(hostile_report())
def test_whatever_the_validators_accept_meets_every_contract_rule(
    case: tuple[ReportKind, Body],
) -> None:
    kind, body = case
    report, errors = ingest(kind, json.dumps(body))
    if report is not None and not errors:
        assert_meets_the_contract(kind, body)


@PROPERTY_SETTINGS
@given(hostile_report())
def test_every_rejection_names_its_problems_with_a_loc_pointing_into_the_body(
    case: tuple[ReportKind, Body],
) -> None:
    kind, body = case
    raw = json.dumps(body)
    _, errors = ingest(kind, raw)
    doc = json.loads(raw)
    for error in errors:
        assert points_into(doc, list(error.loc)), error
        assert error.code and error.message


@PROPERTY_SETTINGS
@given(st.sampled_from(list(ReportKind)), json_values)
def test_arbitrary_json_is_rejected_with_located_validation_errors_and_nothing_else(
    kind: ReportKind, value: Any
) -> None:
    raw = json.dumps(value)
    report, errors = ingest(kind, raw)  # anything but an ApiError propagates: a 500
    assert report is None or not errors or all(points_into(value, list(e.loc)) for e in errors)
    if report is None:
        assert errors and all(points_into(value, list(e.loc)) for e in errors)


@PROPERTY_SETTINGS
@given(st.sampled_from(list(ReportKind)), st.binary(max_size=200))
def test_bytes_that_are_not_json_are_one_error_at_the_body(kind: ReportKind, raw: bytes) -> None:
    try:
        json.loads(raw)
    except (ValueError, RecursionError):
        report, errors = ingest(kind, raw)
        assert report is None
        assert [(e.loc, e.code) for e in errors] == [(["body"], "json_invalid")]


# Numbers: what JSON allows and Pacer refuses -------------------------------------------------

NUMBER_LITERALS = [
    ("NaN", "NaN", "finite_number"),
    ("Infinity", "Infinity", "finite_number"),
    ("minus Infinity", "-Infinity", "finite_number"),
    ("1e309 overflows to infinity", "1e309", "finite_number"),
    ("an integer of 400 digits", "1" + "0" * 400, "finite_number"),
    ("true is not a number", "true", "float_type"),
    ("false is not a number", "false", "float_type"),
    ("a numeric string is not a number", '"36.6"', "float_type"),
    ("null is not a number", "null", "float_type"),
    ("an array is not a number", "[36.6]", "float_type"),
]


@pytest.mark.parametrize(
    ("literal", "code"),
    [case[1:] for case in NUMBER_LITERALS],
    ids=[case[0] for case in NUMBER_LITERALS],
)
@pytest.mark.parametrize("field", ["lat", "indicator"])
def test_numbers_json_cannot_mean_are_rejected_at_their_field(
    field: str, literal: str, code: str
) -> None:
    if field == "lat":
        kind = ReportKind.SITES
        raw = (
            '{"period": "2024-07", "as_of": "2024-07-10", "sites": [{"site_id": "JN-1", '
            '"operator": "china_mobile", "status": "in_service", "commissioned_on": "2024-07-01", '
            f'"lat": {literal}, "lon": 117.1}}]}}'
        )
        loc: list[str | int] = ["body", "sites", 0, "lat"]
    else:
        kind = ReportKind.GIGABIT
        raw = (
            '{"period": "2024-07", "as_of": "2024-07-10", '
            f'"indicators": {{"bb_1000m_users": {literal}}}}}'
        )
        loc = ["body", "indicators", "bb_1000m_users"]
    report, errors = ingest(kind, raw)
    assert report is None
    assert [(e.loc, e.code) for e in errors] == [(loc, code)]


PERIOD_TEXTS = [
    ("other scripts' digits", "٢٠٢٤-07"),
    ("full-width digits", "\uff12\uff10\uff12\uff14-07"),
    ("month 13", "2024-13"),
    ("month without its zero", "2024-7"),
    ("a date, not a month", "2024-07-01"),
    ("a trailing newline", "2024-07\n"),
]


@pytest.mark.parametrize("period", [c[1] for c in PERIOD_TEXTS], ids=[c[0] for c in PERIOD_TEXTS])
def test_a_period_is_ascii_yyyy_mm_and_nothing_that_merely_looks_like_it(period: str) -> None:
    body = {"period": period, "as_of": "2024-07-10", "indicators": {"bb_1000m_users": 1}}
    report, errors = ingest(ReportKind.GIGABIT, json.dumps(body, ensure_ascii=False))
    assert report is None
    assert [(e.loc, e.code) for e in errors] == [(["body", "period"], "string_pattern_mismatch")]


def test_a_duplicated_name_makes_a_report_ambiguous_and_is_rejected_where_it_repeats() -> None:
    raw = (
        '{"period": "2024-07", "as_of": "2024-07-10", "sites": [{"site_id": "JN-1", '
        '"operator": "china_mobile", "status": "in_service", "commissioned_on": "2024-07-01", '
        '"lat": 99.0, "lat": 36.6, "lon": 117.1}], "period": "2024-07"}'
    )
    _, errors = ingest(ReportKind.SITES, raw)
    assert sorted((e.loc, e.code) for e in errors) == [
        (["body", "period"], "duplicate_key"),
        (["body", "sites", 0, "lat"], "duplicate_key"),
    ]


def test_the_newest_possible_report_is_accepted_at_the_boundary_of_now() -> None:
    body = {"period": "2024-07", "as_of": TODAY.isoformat(), "indicators": {"bb_1000m_users": 0}}
    assert ingest(ReportKind.GIGABIT, json.dumps(body))[1] == []
    tomorrow = dict(body, as_of=(TODAY + timedelta(days=1)).isoformat())
    assert [e.code for e in ingest(ReportKind.GIGABIT, json.dumps(tomorrow))[1]] == [
        "as_of_in_future"
    ]
