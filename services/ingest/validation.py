"""Checks of a parsed report against "now" and the targets (pure: no I/O)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from services.ingest.errors import ErrorItem
from shared.domain.calendar import Period, local_date
from shared.domain.targets import GigabitProgram
from shared.wire import GigabitReport, Report, SitesReport


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


def duplicate_keys(body: bytes) -> list[ErrorItem]:
    """A name twice in one object (``{"lat": 99, "lat": 36.6}``): parsers disagree on which one
    counts (pydantic keeps the last), so the report is ambiguous and rejected. Runs on a body
    the model already accepted, so its depth and numbers are known to be sane."""
    repeated = False

    def plain_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        obj = dict(pairs)
        repeated = repeated or len(obj) != len(pairs)
        return obj

    try:
        # First as cheaply as a plain parse (45 ms for 10,000 sites); only a body that does
        # repeat a name pays for a second pass that finds where.
        json.loads(body, object_pairs_hook=plain_object)
        if not repeated:
            return []
        doc = json.loads(body, object_pairs_hook=_remember_duplicates)
    except (ValueError, RecursionError):
        return []
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
