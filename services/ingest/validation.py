"""Checks of a parsed report against "now" and the targets (pure: no I/O)."""

from __future__ import annotations

import math
from datetime import datetime

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
