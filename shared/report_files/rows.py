"""Rows of a file a city submits (``pacer submit``, the portal), each with its row number, and
the checks that need no server: types, formats, ranges and the bounding box (shared.wire's own
models), duplicate site ids across the whole file, ``commissioned_on`` after ``as_of``.

Row numbers are what a person sees in the file: for CSV the line (the header is line 1), for
NDJSON the line, for an XLSX sheet Excel's row number, for a JSON array the element's index + 1.
Columns are named as the file names them (纬度 where the header says 纬度); ``field`` keeps the
API's name of the same thing, which is what a translation of the message goes by.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.wire import Number, Site, in_column_order


@dataclass(frozen=True)
class RowError:
    """One problem, placed in the input file: ``row`` None means the report as a whole."""

    row: int | None
    column: str | None
    message: str
    code: str
    field: str | None = None
    """The API's name of the column (``lat``), or the indicator key; None: as ``column``."""

    def render(self, file: str) -> str:
        where = file if self.row is None else f"{file}:{self.row}"
        column = f" {self.column}:" if self.column else ""
        return f"{where}:{column} {self.message} ({self.code})"

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message, "code": self.code}


@dataclass(frozen=True)
class SourceRow:
    """One site as read from the file, not yet checked."""

    row: int
    fields: Any
    """A dict of cell texts (CSV) or the decoded JSON value (JSON, NDJSON)."""
    from_text: bool
    """True when every value is text to be parsed as its JSON counterpart would be (CSV)."""
    problem: RowError | None = None
    """Set when the row could not even be read (bad JSON line, wrong number of cells)."""
    columns: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """API field -> the file's header for it (spreadsheets); a field not here is named as is."""

    def column(self, name: str | None) -> str | None:
        return self.columns.get(name, name) if name else name


@dataclass(frozen=True)
class IndicatorCell:
    """One gigabit indicator value as read from the file, not yet checked."""

    key: str
    value: Any
    row: int | None
    from_text: bool
    label: str | None = None
    """The indicator as the file names it (城市家庭千兆光网覆盖率); None: the key."""


@dataclass(frozen=True)
class CheckedSite:
    row: int
    site: Site | None
    """None when the row has errors."""
    errors: tuple[RowError, ...] = ()


_NUMBER: TypeAdapter[float] = TypeAdapter(Number)


def _errors_of(
    exc: ValidationError, row: int | None, name: Callable[[str | None], str | None]
) -> list[RowError]:
    """One RowError per pydantic error, its column named by ``name(field)``."""
    errors = []
    for error in in_column_order(exc.errors(include_url=False)):
        field_name = ".".join(str(part) for part in error["loc"]) or None
        errors.append(RowError(row, name(field_name), error["msg"], error["type"], field_name))
    return errors


def _parse_site(source: SourceRow) -> Site:
    if source.from_text:
        return Site.model_validate_strings(source.fields)
    return Site.model_validate_json(json.dumps(source.fields))


def check_sites(rows: list[SourceRow], as_of: date) -> list[CheckedSite]:
    """Every row, in file order, with its parsed site or its problems."""
    checked: list[CheckedSite] = []
    first_row_of: dict[str, int] = {}
    for source in rows:
        if source.problem is not None:
            checked.append(CheckedSite(source.row, None, (source.problem,)))
            continue
        try:
            site = _parse_site(source)
        except ValidationError as exc:
            errors_found = _errors_of(exc, source.row, source.column)
            checked.append(CheckedSite(source.row, None, tuple(errors_found)))
            continue
        errors: list[RowError] = []
        if site.site_id in first_row_of:
            errors.append(
                RowError(
                    source.row,
                    source.column("site_id"),
                    f"site_id {site.site_id!r} is already on row {first_row_of[site.site_id]}",
                    "duplicate_site_id",
                    "site_id",
                )
            )
        else:
            first_row_of[site.site_id] = source.row
        if site.commissioned_on > as_of:
            errors.append(
                RowError(
                    source.row,
                    source.column("commissioned_on"),
                    f"commissioned_on {site.commissioned_on} is after as_of {as_of}",
                    "commissioned_after_as_of",
                    "commissioned_on",
                )
            )
        checked.append(CheckedSite(source.row, None if errors else site, tuple(errors)))
    return checked


@dataclass(frozen=True)
class CheckedIndicators:
    values: dict[str, float]
    rows: dict[str, int | None]
    """Indicator key -> its row in the file (None for a JSON object)."""
    errors: list[RowError]
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    """Indicator key -> how the file names it, where that differs from the key."""


def check_indicators(cells: list[IndicatorCell]) -> CheckedIndicators:
    """Numbers only, each key once; which keys exist is the server's to say (its targets file)."""
    values: dict[str, float] = {}
    rows: dict[str, int | None] = {}
    errors: list[RowError] = []
    labels = {cell.key: cell.label for cell in cells if cell.label and cell.label != cell.key}
    for cell in cells:
        name = labels.get(cell.key, cell.key)
        if cell.key in rows:
            where = rows[cell.key]
            errors.append(
                RowError(
                    cell.row,
                    name,
                    f"{name} is given twice" + (f" (also row {where})" if where else ""),
                    "duplicate_indicator",
                    cell.key,
                )
            )
            continue
        rows[cell.key] = cell.row
        try:
            if cell.from_text:
                values[cell.key] = _NUMBER.validate_strings(cell.value)
            else:
                values[cell.key] = _NUMBER.validate_python(cell.value)
        except ValidationError as exc:
            errors += [
                RowError(cell.row, name, error.message, error.code, cell.key)
                for error in _errors_of(exc, cell.row, lambda field_name: field_name)
            ]
    return CheckedIndicators(values, rows, errors, labels)
