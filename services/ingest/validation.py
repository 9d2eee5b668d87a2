"""Checks of a request's JSON body (``json_body``), and of a parsed report against "now" and the
targets (pure: no I/O)."""

from __future__ import annotations

import json
import math
import threading
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from services.ingest.errors import ApiError, ErrorItem, from_pydantic
from shared.domain.calendar import Period, local_date
from shared.domain.targets import GigabitProgram
from shared.wire import GigabitReport, Report, SitesReport

_Model = TypeVar("_Model", bound=BaseModel)


async def json_body(request: Request, model: type[_Model], what: str) -> _Model:
    """The request's body as ``model``: 415 unless it is ``application/json`` ("send ``what`` as
    application/json"); 422 listing every problem if ``model`` refuses it, or if an object names
    a member twice (see ``duplicate_keys``)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ApiError.single(
            415,
            "unsupported_media_type",
            f"send {what} as application/json",
            loc=["header", "Content-Type"],
        )
    body = await request.body()
    try:
        parsed = model.model_validate_json(body)
    except ValidationError as exc:
        raise from_pydantic(exc) from exc
    duplicates = duplicate_keys(body)
    if duplicates:
        raise ApiError(422, duplicates)
    return parsed


def check_dates(report: Report, now: datetime) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    today = local_date(now)
    period = Period.parse(report.period)
    if period > Period.of(today):
        errors.append(
            ErrorItem(["body", "period"], "period_in_future", f"period {period} has not begun")
        )
    if not period.contains(report.as_of):
        errors.append(
            ErrorItem(
                ["body", "as_of"],
                "as_of_outside_period",
                f"as_of {report.as_of} is not in period {period}",
            )
        )
    if report.as_of > today:
        errors.append(
            ErrorItem(
                ["body", "as_of"],
                "as_of_in_future",
                f"as_of {report.as_of} is after today ({today})",
            )
        )
    return errors


def check_sites(report: SitesReport) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    first_seen: dict[str, int] = {}
    for index, site in enumerate(report.sites):
        loc: list[str | int] = ["body", "sites", index]
        if site.site_id in first_seen:
            errors.append(
                ErrorItem(
                    [*loc, "site_id"],
                    "duplicate_site_id",
                    f"site_id {site.site_id!r} is already at sites[{first_seen[site.site_id]}]",
                )
            )
        else:
            first_seen[site.site_id] = index
        if site.commissioned_on > report.as_of:
            errors.append(
                ErrorItem(
                    [*loc, "commissioned_on"],
                    "commissioned_after_as_of",
                    f"commissioned_on {site.commissioned_on} is after as_of {report.as_of}",
                )
            )
    return errors


def check_indicators(report: GigabitReport, program: GigabitProgram) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    if not report.indicators:
        errors.append(ErrorItem(["body", "indicators"], "empty", "report at least one indicator"))
    for key, value in report.indicators.items():
        loc: list[str | int] = ["body", "indicators", key]
        indicator = program.indicator(key)
        if indicator is None:
            known = ", ".join(i.key for i in program.indicators)
            errors.append(
                ErrorItem(loc, "unknown_indicator", f"unknown indicator {key!r}; known: {known}")
            )
            continue
        low = indicator.minimum if indicator.minimum is not None else -math.inf
        high = indicator.maximum if indicator.maximum is not None else math.inf
        if not low <= value <= high:
            errors.append(
                ErrorItem(
                    loc,
                    "out_of_range",
                    f"{key} must be between {low:g} and {high:g}, got {value:g}",
                )
            )
        elif indicator.integer and value != int(value):
            errors.append(
                ErrorItem(loc, "not_an_integer", f"{key} counts {indicator.unit}: a whole number")
            )
    return errors


def check_report(report: Report, now: datetime, program: GigabitProgram) -> list[ErrorItem]:
    errors = check_dates(report, now)
    if isinstance(report, SitesReport):
        errors += check_sites(report)
    else:
        errors += check_indicators(report, program)
    return errors


class _JsonObject(dict[str, Any]):
    """A parsed JSON object that remembers the names it held more than once."""

    duplicates: list[str]


def _remember_duplicates(pairs: list[tuple[str, Any]]) -> _JsonObject:
    obj = _JsonObject()
    obj.duplicates = []
    for key, value in pairs:
        if key in obj and key not in obj.duplicates:
            obj.duplicates.append(key)
        obj[key] = value
    return obj


class _ObjectCollector(threading.local):
    """A JSON decoder whose hook, ``list.append``, keeps every object it parses, as a dict (a
    repeated name kept once). Built once per thread: a new decoder per body cost more than the
    parse of a small report; the hook is C code, so no Python call per object either."""

    def __init__(self) -> None:
        self.objects: list[dict[str, Any]] = []
        self.decoder = json.JSONDecoder(object_hook=self.objects.append)

    def member_names(self, body: bytes) -> int:
        """How many names the objects of ``body`` hold, each counted once per object."""
        # The text json.loads would decode; "{" then not a NUL is UTF-8 to its detection.
        plain = body[:1] == b"{" and body[1:2] != b"\x00"
        text = body.decode("utf-8" if plain else json.detect_encoding(body), "surrogatepass")
        try:
            self.decoder.decode(text)
            return sum(map(len, self.objects))
        finally:
            self.objects.clear()


_COLLECTOR = _ObjectCollector()
_BEFORE_A_COLON = (b'":', b" :", b"\t:", b"\n:", b"\r:")
"""What precedes a member's ":" in UTF-8 JSON: its name's closing quote or whitespace."""


def _member_colons_at_most(body: bytes) -> int:
    """At least as many as the members of every object in ``body`` (valid JSON)."""
    colons = body.count(b":")
    if json.detect_encoding(body) != "utf-8":
        return colons
    # Closer in a body whose strings hold ":" (a report_id may): such a ":" is rarely right
    # after a quote or a space.
    return min(colons, sum(body.count(pair) for pair in _BEFORE_A_COLON))


def duplicate_keys(body: bytes) -> list[ErrorItem]:
    """A name twice in one object (``{"lat": 99, "lat": 36.6}``): parsers disagree on which one
    counts (pydantic keeps the last), so the report is ambiguous and rejected. Runs on a body
    the model already accepted, so it is valid JSON in UTF-8, of sane depth and numbers."""
    try:
        names = _COLLECTOR.member_names(body)
    except (ValueError, RecursionError):
        return []
    # Names kept <= members <= the bound: equal, no object can have repeated a name.
    if names == body.count(b":") or names == _member_colons_at_most(body):
        return []
    repeated = False

    def plain_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        obj = dict(pairs)
        repeated = repeated or len(obj) != len(pairs)
        return obj

    # Only a body with a ":" in odd places inside its strings, or a repeated name, gets here:
    # the exact check, then (only if a name is repeated) a pass that finds where.
    json.loads(body, object_pairs_hook=plain_object)
    if not repeated:
        return []
    doc = json.loads(body, object_pairs_hook=_remember_duplicates)
    errors: list[ErrorItem] = []
    pending: list[tuple[list[str | int], Any]] = [(["body"], doc)]
    while pending:
        loc, node = pending.pop()
        if isinstance(node, _JsonObject):
            errors += [
                ErrorItem([*loc, key], "duplicate_key", f"{key!r} appears more than once here")
                for key in node.duplicates
            ]
            pending += [([*loc, key], value) for key, value in node.items()]
        elif isinstance(node, list):
            pending += [([*loc, index], value) for index, value in enumerate(node)]
    return errors
