"""Wire formats: report bodies as cities send them, and entries on Pacer's streams.

How a report looks on HTTP and on the reports stream (``ReportEnvelope``, written by the ingest
from Python), and how a progress event reads (``ProgressEvent``). A progress event is written in
the same step as the apply, so by the aggregator's apply script
(``shared/store/reports/apply_scripts.py``, its shared tail), which spells the same four fields;
``ProgressEvent.from_fields`` is what the alerting service reads them with, and the aggregator's
fault test decodes what the script wrote. Alerts-stream entries are ``shared.wire_alerts``'s;
how a site is stored is the sites family's (``shared.store.sites``). Checks that need no context
(types, ranges, the bounding box) live here; checks against "now" or stored state are the
ingest's.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter
from pydantic_core import ErrorDetails, PydanticCustomError

from shared.domain.state import ReportKind

MAX_SITES_PER_REPORT = 10_000
SHANDONG_LAT = (34.3, 38.5)
SHANDONG_LON = (114.6, 122.8)

Operator = Literal["china_mobile", "china_unicom", "china_telecom", "china_broadnet"]
SiteStatus = Literal["in_service", "decommissioned"]

EARLIEST_DAY = date(2019, 1, 1)
"""Nothing Pacer tracks is older (Laiwu joined Jinan in 2019; the programmes start in 2024): a
period or commissioning date before it is a typo (``0001-01``), not history."""

ReportId = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]


_EARLIEST_PERIOD = f"{EARLIEST_DAY:%Y-%m}"
"""Formatted once: ``strftime`` on every report's period was ~1 % of its CPU."""


def _not_before_2019(period: str) -> str:
    if period < _EARLIEST_PERIOD:
        raise PydanticCustomError(
            "too_early",
            "period {period} is before {earliest}, the earliest Pacer accepts",
            {"period": period, "earliest": _EARLIEST_PERIOD},
        )
    return period


# [0-9], not \d: the pattern engine's \d also matches other scripts' digits ("٢٠٢٤-07").
PeriodText = Annotated[
    str,
    Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2024-06"]),
    AfterValidator(_not_before_2019),
]
IsoDate = Annotated[date, Field(strict=True, examples=["2024-06-30"])]
"""Only the text form YYYY-MM-DD: a bare number is not a date."""
SinceRecords = Annotated[IsoDate, Field(ge=EARLIEST_DAY)]
"""A date Pacer can mean: ``EARLIEST_DAY`` or later (checked by pydantic-core, not per site in
Python: a 10,000-site report pays nothing for it)."""

_UNSAFE_CHARS = r"\x00-\x1f\x7f-\x9f\u200b-\u200d\u2028-\u202e\u2060\u2066-\u2069\ufeff"
"""C0 and C1 controls (NUL, newline...), zero-width characters (U+200B-200D, U+2060, U+FEFF),
line and paragraph separators (U+2028-2029), and the bidi embeddings, overrides and isolates
(U+202A-202E, U+2066-2069) that make text display in another order than it is stored."""
SAFE_TEXT = f"^[^{_UNSAFE_CHARS}]+$"
"""The pattern of every free-text field: any script, right-to-left included, and emoji, but no
character of ``_UNSAFE_CHARS``. A pattern (not a Python validator) so pydantic-core checks it at
no cost per site, and the published schema says it."""
_UNSAFE = re.compile(f"[{_UNSAFE_CHARS}]")
SafeText = Annotated[str, Field(pattern=SAFE_TEXT)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A JSON number: a numeric string such as "36.6" is rejected, not coerced."""


def explain(error: ErrorDetails) -> tuple[str, str] | None:
    """A clearer ``(code, message)`` than pydantic's for an error of Pacer's own constraints
    (``SAFE_TEXT``'s pattern, ``EARLIEST_DAY``); None for any other error."""
    context = error.get("ctx") or {}
    value = error.get("input")
    if error["type"] == "string_pattern_mismatch" and context.get("pattern") == SAFE_TEXT:
        found = _UNSAFE.search(value) if isinstance(value, str) else None
        if found is not None:
            char = found.group()
            name = unicodedata.name(char, "") or "a control character"
            return (
                "forbidden_character",
                f"character {found.start() + 1} is U+{ord(char):04X} ({name}): text may not "
                "hold control, bidi-override, zero-width or line-separator characters",
            )
    if error["type"] == "greater_than_equal" and str(context.get("ge")) == str(EARLIEST_DAY):
        return "too_early", f"{value} is before {EARLIEST_DAY}, the earliest date Pacer accepts"
    return None


def _within(bounds: tuple[float, float], axis: str) -> Any:
    low, high = bounds

    def check(value: float) -> float:
        if not low <= value <= high:
            raise PydanticCustomError(
                "outside_shandong",
                "{axis} {value} is outside Shandong's bounding box ({low} to {high})",
                {"axis": axis, "value": value, "low": low, "high": high},
            )
        return value

    return AfterValidator(check)


def _documented_bounds(bounds: tuple[float, float]) -> Any:
    """The bounds in the published JSON schema too (the check itself is ``_within``, whose error
    code the contract names), so generated clients and fuzzers know them."""
    low, high = bounds
    return Field(json_schema_extra={"minimum": low, "maximum": high})


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def _properties_in_column_order(schema: dict[str, Any]) -> None:
    """The published schema lists a site's properties in ``Site.COLUMNS``'s order (the fields are
    declared in another, see ``Site``)."""
    properties = schema["properties"]
    schema["properties"] = {name: properties[name] for name in Site.COLUMNS}
    schema["required"] = [name for name in Site.COLUMNS if name in schema.get("required", ())]


class Site(_Body):
    # Declared in name order, so that pydantic-core's own serialiser writes a site as canonical
    # JSON (sorted keys): ``encode_submission`` dumps 10,000 sites in ~20 ms instead of ~90 ms
    # through ``json``. People see ``COLUMNS``' order: templates, spreadsheets, the schema.
    model_config = ConfigDict(json_schema_extra=_properties_in_column_order)

    band: Annotated[SafeText, Field(min_length=1, max_length=32)] | None = None
    commissioned_on: SinceRecords
    district: Annotated[SafeText, Field(min_length=1, max_length=64)] | None = None
    lat: Annotated[Number, _within(SHANDONG_LAT, "latitude"), _documented_bounds(SHANDONG_LAT)]
    lon: Annotated[Number, _within(SHANDONG_LON, "longitude"), _documented_bounds(SHANDONG_LON)]
    operator: Operator
    site_id: Annotated[
        str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
    ]
    status: SiteStatus

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "site_id",
        "operator",
        "status",
        "commissioned_on",
        "lat",
        "lon",
        "district",
        "band",
    )
    """The fields in the order people read them: a spreadsheet's columns, the schema's."""

    MOST_STRINGS: ClassVar[int] = 14
    """JSON strings a valid site holds at most: 8 names and 6 text values."""


_COLUMN_RANK = {name: rank for rank, name in enumerate(Site.COLUMNS)}


def in_column_order(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """``errors`` (pydantic's, of a site, a list of sites or a report) with each site's problems
    in ``Site.COLUMNS``' order, where its first one was. pydantic lists them in the order the
    fields are declared (name order: see ``Site``); people read a site in its columns' order."""
    first_of_site: dict[tuple[str | int, ...], int] = {}

    def reading_order(numbered: tuple[int, ErrorDetails]) -> tuple[int, int]:
        position, error = numbered
        loc = error["loc"]
        for cut, part in enumerate(loc):
            if part in _COLUMN_RANK and (cut == 0 or isinstance(loc[cut - 1], int)):
                site = first_of_site.setdefault(tuple(loc[:cut]), position)
                return site, _COLUMN_RANK[str(part)]
        return position, -1

    return [error for _, error in sorted(enumerate(errors), key=reading_order)]


class _Report(_Body):
    report_id: ReportId | None = None
    period: PeriodText
    as_of: IsoDate

    TOP_STRINGS: ClassVar[int] = 7
    """JSON strings of a valid report outside its sites or indicators: 4 names, 3 text values."""


class SitesReport(_Report):
    """``POST /v1/cities/{city}/reports/5g-sites``."""

    # Shown in /docs, and the one body an API fuzzer is sure to send that passes every check.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "report_id": "jinan-5g-2024-06",
                    "period": "2024-06",
                    "as_of": "2024-06-30",
                    "sites": [
                        {
                            "site_id": "JN-000123",
                            "operator": "china_mobile",
                            "status": "in_service",
                            "commissioned_on": "2024-06-12",
                            "lat": 36.651,
                            "lon": 117.12,
                            "district": "历下区",
                            "band": "n41",
                        }
                    ],
                }
            ]
        }
    )

    sites: Annotated[list[Site], Field(max_length=MAX_SITES_PER_REPORT, fail_fast=True)]
    """Validation stops at the first invalid site: a valid report costs what it did, and before,
    10,000 ``{}`` (a 30 kB body) made pydantic build 60,000 errors (0.4 s, 60 MB). The ingest
    lists a refused report's other problems itself, a few sites at a time
    (``services/ingest/site_errors.py``)."""

    @classmethod
    def most_strings(cls) -> int:
        """JSON strings (names and text) a valid body of this report holds at most."""
        return cls.TOP_STRINGS + Site.MOST_STRINGS * MAX_SITES_PER_REPORT


def _keys_are_safe_text(schema: dict[str, Any]) -> None:
    """Every key is ``SafeText`` and every value a number: pydantic would publish the pattern as
    ``patternProperties``, which lets a key outside the pattern hold anything."""
    schema.pop("patternProperties", None)
    schema["propertyNames"] = {"maxLength": 64, "pattern": SAFE_TEXT}
    schema["additionalProperties"] = {"type": "number"}


class GigabitReport(_Report):
    """``POST /v1/cities/{city}/reports/gigabit``: a subset of the indicator keys."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "report_id": "jinan-gig-2024-06",
                    "period": "2024-06",
                    "as_of": "2024-06-30",
                    "indicators": {
                        "household_gigabit_coverage_pct": 112.4,
                        "pon_10g_port_share_pct": 31.0,
                        "bs_5g_per_10k": 21.7,
                        "bb_1000m_users": 1250000,
                    },
                }
            ]
        }
    )

    indicators: Annotated[
        dict[Annotated[SafeText, Field(max_length=64)], Number],
        Field(json_schema_extra=_keys_are_safe_text),
    ]

    @classmethod
    def most_strings(cls, indicators: int) -> int:
        """JSON strings a valid body holds at most when the targets know ``indicators`` keys."""
        return cls.TOP_STRINGS + indicators


Report = SitesReport | GigabitReport
REPORT_MODELS: dict[ReportKind, type[SitesReport] | type[GigabitReport]] = {
    ReportKind.SITES: SitesReport,
    ReportKind.GIGABIT: GigabitReport,
}


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def body_fingerprint(city: str, kind: ReportKind, report: Report) -> str:
    """Identifies a submission's content (without its id): same id + other content is a conflict."""
    content = report.model_dump(mode="json", exclude={"report_id"}, exclude_none=True)
    return hashlib.sha256(canonical_json([city, str(kind), content]).encode()).hexdigest()


@dataclass(frozen=True)
class ReportEnvelope:
    """One entry of the reports stream: an accepted report and where it came from."""

    report_id: str
    city: str
    kind: ReportKind
    received_at: datetime
    payload: str
    """The report body as canonical JSON."""

    def fields(self) -> dict[str, str]:
        return {
            "report_id": self.report_id,
            "city": self.city,
            "kind": str(self.kind),
            "received_at": self.received_at.isoformat(),
            "payload": self.payload,
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> ReportEnvelope:
        """Raises KeyError/ValueError on an entry that is not a report (a poison message)."""
        return cls(
            report_id=fields["report_id"],
            city=fields["city"],
            kind=ReportKind(fields["kind"]),
            received_at=datetime.fromisoformat(fields["received_at"]),
            payload=fields["payload"],
        )

    def report(self) -> Report:
        return REPORT_MODELS[self.kind].model_validate_json(self.payload)


def encode_payload(report: Report) -> str:
    return canonical_json(report.model_dump(mode="json", exclude_none=True))


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""``canonical_json``'s encoder, built once: ``json.dumps`` builds one per call (~1 us each)."""


def encode_submission(city: str, kind: ReportKind, report: Report) -> tuple[str, str]:
    """``(encode_payload(report), body_fingerprint(city, kind, report))``, the same texts from one
    serialisation, and for a 5G report one by pydantic-core (``_canonical_payload``).

    On a 10,000-site report each canonical dump through ``json`` costs about a fifth of the
    ingest's time, and the two differ only by the body's ``"report_id"`` member: with sorted keys
    only ``as_of``, ``indicators`` and ``period`` come before it, so it is the first
    ``,"report_id":"<id>"`` of the text (inside a JSON string every quote is escaped, and an
    indicator's value is a number)."""
    dump = _CANONICAL.encode
    payload = _canonical_payload(report)
    content = payload
    if report.report_id is not None:
        content = payload.replace(f',"report_id":{dump(report.report_id)}', "", 1)
    listed = f"[{dump(city)},{dump(str(kind))},{content}]"
    return payload, hashlib.sha256(listed.encode()).hexdigest()


_SITES_JSON = TypeAdapter(list[Site])


def _canonical_payload(report: Report) -> str:
    """``encode_payload(report)``, the same text. A 5G report's sites are written by
    pydantic-core (~20 ms for 10,000 against ~90 ms): ``Site`` declares its fields in name order,
    and every value it can hold is written as ``json`` writes it (text of safe characters, ISO
    dates, and floats inside Shandong's box, where both write the shortest repr).
    ``tests/unit/test_wire_submission.py`` holds the two texts equal."""
    if not isinstance(report, SitesReport):
        return _CANONICAL.encode(report.model_dump(mode="json", exclude_none=True))
    head = {"as_of": report.as_of.isoformat(), "period": report.period}
    if report.report_id is not None:
        head["report_id"] = report.report_id
    sites = _SITES_JSON.dump_json(report.sites, exclude_none=True).decode()
    return f'{_CANONICAL.encode(head)[:-1]},"sites":{sites}}}'


@dataclass(frozen=True)
class ProgressEvent:
    """One entry of the progress stream: a report was applied. Written by the apply script's
    XADD (``shared/store/reports/apply_scripts.py``): keep the two in step."""

    report_id: str
    city: str
    kind: ReportKind
    applied_at: datetime

    def fields(self) -> dict[str, str]:
        return {
            "report_id": self.report_id,
            "city": self.city,
            "kind": str(self.kind),
            "applied_at": self.applied_at.isoformat(),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> ProgressEvent:
        return cls(
            report_id=fields["report_id"],
            city=fields["city"],
            kind=ReportKind(fields["kind"]),
            applied_at=datetime.fromisoformat(fields["applied_at"]),
        )


ReportStatus = Literal["accepted", "applied", "rejected"]

MAX_LISTED_ERRORS = 100
"""An error list holds at most this many entries; past it the last says how many there were."""


def site_elsewhere_message(site_id: str, owner: str | None) -> str:
    """Why a site id cannot be this city's; ``owner`` is None for a caller who may not know it
    (a city token: only admin and viewer tokens learn who holds a site id)."""
    return f"site {site_id!r} is registered to {owner or 'another city'}"


def site_limit_message(new: int, registered: int, limit: int) -> str:
    return (
        f"the report would register {new} new site ids; the city holds {registered} of at most "
        f"{limit} (limits.max_sites_per_city in the targets file)"
    )


def too_many_errors_message(count: int) -> str:
    return f"{count} errors in all; the first {MAX_LISTED_ERRORS - 1} are listed"


class ReportSummary(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class ReportError(BaseModel):
    """Why the aggregator rejected a report, in the API's error format."""

    loc: list[str | int]
    code: str
    message: str


def stored_errors(raw: str, *, name_owners: bool) -> list[ReportError]:
    """The ``errors`` field of a report record (written by the aggregator's scripts as JSON, one
    object per error with its facts rather than a message) as the API shows them. ``name_owners``:
    the caller may learn which city holds a site id."""
    shown = []
    for item in json.loads(raw):
        code = item["code"]
        if code == "site_registered_elsewhere":
            owner = item["owner"] if name_owners else None
            message = site_elsewhere_message(item["site_id"], owner)
        elif code == "site_limit_exceeded":
            message = site_limit_message(item["new"], item["registered"], item["limit"])
        elif code == "too_many_errors":
            message = too_many_errors_message(item["count"])
        else:
            message = item.get("message", code)
        shown.append(ReportError(loc=item["loc"], code=code, message=message))
    return shown


class ReportRecord(BaseModel):
    """``GET /v1/cities/{city}/reports/{report_id}``: what became of a submission."""

    report_id: str
    city: str
    kind: ReportKind
    status: ReportStatus
    received_at: datetime
    applied_at: datetime | None = None
    summary: ReportSummary = ReportSummary()
    errors: list[ReportError] | None = None
    """Why the aggregator rejected the report (only for status rejected)."""
    reason: str | None = None
    """Why a report was dead-lettered (status rejected after every attempt failed)."""

    @classmethod
    def from_hash(cls, fields: dict[str, str], *, name_owners: bool = False) -> ReportRecord:
        """``name_owners``: say which city holds a site id the report claimed (admin, viewer)."""
        return cls(
            report_id=fields["report_id"],
            city=fields["city"],
            kind=ReportKind(fields["kind"]),
            status=cast(ReportStatus, fields["status"]),
            received_at=datetime.fromisoformat(fields["received_at"]),
            applied_at=datetime.fromisoformat(fields["applied_at"])
            if fields.get("applied_at")
            else None,
            summary=ReportSummary(
                created=int(fields.get("created", 0)),
                updated=int(fields.get("updated", 0)),
                unchanged=int(fields.get("unchanged", 0)),
            ),
            errors=stored_errors(fields["errors"], name_owners=name_owners)
            if fields.get("errors")
            else None,
            reason=fields.get("reason") or None,
        )


class ReportPage(BaseModel):
    """``GET /v1/cities/{city}/reports``: the city's reports, newest first."""

    reports: list[ReportRecord]
    next_before: str | None = None
    """Pass as ``before`` for the next (older) page; null on the last page."""
