"""Checks of a request's JSON body (``json_body``), and of a parsed report against "now" and the
targets (pure: no I/O)."""

from __future__ import annotations

import asyncio
import functools
import json
import math
import threading
from collections.abc import Generator, Iterable
from datetime import date, datetime
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from services.ingest import site_errors
from services.ingest.census import crowded_body
from services.ingest.context import context
from services.ingest.errors import ApiError, ErrorItem, ErrorList, add_pydantic
from shared.domain.calendar import Period, local_date
from shared.domain.targets import GigabitProgram, Indicator, Targets
from shared.wire import GigabitReport, Report, SitesReport
from shared.wire_alerts import SubscriptionRequest

_Model = TypeVar("_Model", bound=BaseModel)
_T = TypeVar("_T")

MANY_ERRORS = 1_000
"""More problems than this in one parse are not turned into Python objects all at once
(``ValidationError.errors()``: ~3 us and ~1 kB each here)."""


async def json_body(request: Request, model: type[_Model], what: str) -> _Model:
    """The request's body as ``model``: 415 unless it is ``application/json`` ("send ``what`` as
    application/json"); 422 listing its problems (``parse_body``)."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ApiError.single(
            415,
            "unsupported_media_type",
            f"send {what} as application/json",
            loc=["header", "Content-Type"],
        )
    body = await request.body()
    return await _yielding(parse_body(body, model, context(request).targets))


def parse_body(body: bytes, model: type[_Model], targets: Targets) -> Generator[None, None, _Model]:
    """``body`` as ``model``, or an ApiError (422) listing its problems, at most ``MAX_ERRORS``
    of them and the number of the others: a body holding more strings than a valid one can
    (``census``), what pydantic refuses, a name twice in one object (``duplicate_keys``). Yields
    where a long refusal may hand the event loop back (``run_now`` drives it without)."""
    most, known = _most_strings(model, targets)
    crowded = crowded_body(body, most, _A_VALID[model], known)
    if crowded is not None:
        raise crowded
    try:
        parsed = model.model_validate_json(body)
    except ValidationError as exc:
        errors = ErrorList()
        if issubclass(model, SitesReport) and _stopped_at_a_site(exc):
            yield from site_errors.every_error(body, errors)
        else:
            add_pydantic(errors, exc)
        raise ApiError(422, errors) from exc
    duplicates = duplicate_keys(body, kept=names_kept(parsed))
    if duplicates:
        raise ApiError(422, duplicates)
    return parsed


def run_now(steps: Generator[None, None, _T]) -> _T:
    """What ``steps`` returns, run without pause (tests, command-line tools)."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


async def _yielding(steps: Generator[None, None, _T]) -> _T:
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        await asyncio.sleep(0)


_A_VALID: dict[type[BaseModel], str] = {
    SitesReport: "a 5G-sites report",
    GigabitReport: "a gigabit report",
    SubscriptionRequest: "a subscription",
}


def _most_strings(model: type[BaseModel], targets: Targets) -> tuple[int, str]:
    """The most JSON strings a valid body of ``model`` holds, and what it may name (for the
    message of a refusal)."""
    if model is GigabitReport:
        keys = [indicator.key for indicator in targets.gigabit.indicators]
        known = f" (report_id, period, as_of, indicators; the indicators: {', '.join(keys)})"
        return GigabitReport.most_strings(len(keys)), known
    if model is SitesReport:
        return SitesReport.most_strings(), ""
    if model is SubscriptionRequest:
        return SubscriptionRequest.most_strings(), ""
    raise TypeError(f"no string budget for {model.__name__}")


def _stopped_at_a_site(exc: ValidationError) -> bool:
    """Whether the fail-fast parse stopped at a bad site (others may be bad too), or found more
    problems than are worth describing at once: then ``site_errors`` lists them."""
    if exc.error_count() > MANY_ERRORS:
        return True
    return any(
        len(error["loc"]) > 1 and error["loc"][0] == "sites"
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    )


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


def check_sites(report: SitesReport, errors: ErrorList) -> None:
    first_seen: dict[str, int] = {}
    for index, site in enumerate(report.sites):
        if site.site_id in first_seen:
            errors.add(
                ["body", "sites", index, "site_id"],
                "duplicate_site_id",
                functools.partial(_already_at, site.site_id, first_seen[site.site_id]),
            )
        else:
            first_seen[site.site_id] = index
        if site.commissioned_on > report.as_of:
            errors.add(
                ["body", "sites", index, "commissioned_on"],
                "commissioned_after_as_of",
                functools.partial(_after_as_of, site.commissioned_on, report.as_of),
            )


def _already_at(site_id: str, first: int) -> str:
    return f"site_id {site_id!r} is already at sites[{first}]"


def _after_as_of(commissioned_on: date, as_of: date) -> str:
    return f"commissioned_on {commissioned_on} is after as_of {as_of}"


UNIT_CEILINGS = {"percent": 100.0, "per 10k": 1_000.0}
"""contract section 3, for an indicator whose targets entry gives no maximum: a percentage above
100 or more than 1,000 5G sites per 10,000 residents is a typo (``1e300`` was accepted). An
entry's own ``max`` stands (household gigabit coverage can reach 500 %)."""


def value_bounds(indicator: Indicator, population: int | None) -> tuple[float, float]:
    """The range a reported value of ``indicator`` must be in: never below zero (nothing Pacer
    tracks is negative), and a number of users never above the city's ``population``."""
    low = max(0.0, indicator.minimum if indicator.minimum is not None else 0.0)
    high = indicator.maximum
    if high is None:
        high = UNIT_CEILINGS.get(indicator.unit, math.inf)
    if indicator.unit == "users" and population is not None:
        high = min(high, float(population))
    return low, high


def check_indicators(
    report: GigabitReport,
    program: GigabitProgram,
    errors: ErrorList,
    city: str = "the city",
    population: int | None = None,
) -> None:
    if not report.indicators:
        errors.add(["body", "indicators"], "empty", "report at least one indicator")
    for key, value in report.indicators.items():
        loc: list[str | int] = ["body", "indicators", key]
        indicator = program.indicator(key)
        if indicator is None:
            known = ", ".join(i.key for i in program.indicators)
            errors.add(loc, "unknown_indicator", f"unknown indicator {key!r}; known: {known}")
            continue
        low, high = value_bounds(indicator, population)
        if indicator.unit == "users" and population is not None and value > high:
            errors.add(
                loc,
                "above_population",
                f"{key} {value:,.0f} is more than {city}'s population ({population:,})",
            )
        elif not low <= value <= high:
            errors.add(
                loc,
                "out_of_range",
                f"{key} must be between {low:g} and {high:g}, got {value:g}",
            )
        elif indicator.integer and value != int(value):
            errors.add(loc, "not_an_integer", f"{key} counts {indicator.unit}: a whole number")


def check_report(
    report: Report, now: datetime, targets: Targets, city: str | None = None
) -> ErrorList:
    """Every problem of ``report`` against "now" and the targets (the city's, when given: its
    population bounds the number of users it reports)."""
    errors = ErrorList(check_dates(report, now))
    if isinstance(report, SitesReport):
        check_sites(report, errors)
    else:
        population = targets.cities[city].population if city in targets.cities else None
        check_indicators(report, targets.gigabit, errors, city or "the city", population)
    return errors


def names_kept(value: object) -> int:
    """How many member names the JSON objects parsed into ``value`` kept, each counted once per
    object: the fields each model was given (``model_fields_set``; extra names are errors, and no
    report model fills a field its body did not name) and each dict's keys."""
    if isinstance(value, BaseModel):
        given = value.__pydantic_fields_set__
        if _holds_objects(type(value)):
            return len(given) + _kept_within(getattr(value, name) for name in given)
        return len(given)
    if isinstance(value, dict):
        return len(value) + _kept_within(value.values())
    if isinstance(value, list | tuple):
        return _kept_within(value)
    return 0


_SCALARS = frozenset({str, int, float, bool, type(None), date, datetime})


def _kept_within(values: Iterable[object]) -> int:
    # A scalar holds no names: not recursed into (a gigabit report's indicators are numbers).
    return sum(names_kept(value) for value in values if type(value) not in _SCALARS)


@functools.cache
def _holds_objects(model: type[BaseModel]) -> bool:
    """Whether a field of ``model`` may hold a model, a dict or a list (a ``Site`` holds none)."""
    return not all(_plain(field.annotation) for field in model.model_fields.values())


def _plain(annotation: Any) -> bool:
    if annotation in (str, int, float, bool, date, datetime, type(None)):
        return True
    origin = get_origin(annotation)
    if origin is Literal:
        return True
    if origin is Annotated:
        return _plain(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return all(map(_plain, get_args(annotation)))
    return False


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


def duplicate_keys(body: bytes, kept: int | None = None) -> list[ErrorItem]:
    """A name twice in one object (``{"lat": 99, "lat": 36.6}``): parsers disagree on which one
    counts (pydantic keeps the last), so the report is ambiguous and rejected. Runs on a body
    the model already accepted, so it is valid JSON in UTF-8, of sane depth and numbers.
    ``kept``: the names the parsed model kept (``names_kept``), if known."""
    # Names kept <= members <= the bound: equal, no object can have repeated a name. From the
    # parsed model this costs ~1 ms for 10,000 sites; parsing the body again costs ~38 ms.
    if kept is not None and (kept == body.count(b":") or kept == _member_colons_at_most(body)):
        return []
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
