"""Readers of the files ``pacer submit`` takes: 5G sites from CSV, JSON or NDJSON, gigabit
indicators from CSV (``indicator,value`` rows or one wide row) or JSON. Each value keeps the
row number a person would look up in the file.

A problem with the file as a whole (unreadable, not JSON, missing or unknown columns) raises
InputError; a problem with one row is kept on that row, so the other rows can still be checked.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.cli.submit_rows import IndicatorCell, RowError, SourceRow
from shared.wire import Site

FORMATS = ("csv", "json", "ndjson")
_SUFFIXES = {".csv": "csv", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}
SITE_COLUMNS = tuple(Site.model_fields)
REQUIRED_SITE_COLUMNS = tuple(
    name for name, field in Site.model_fields.items() if field.is_required()
)


class InputError(Exception):
    """The file cannot be read as a whole; the message names the file (and line, if known)."""


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return given
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise InputError(
            f"{path}: cannot tell the format from the extension; pass --format csv|json|ndjson"
        ) from None


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not a column name
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, its cells), skipping blank lines; the header comes first."""
    reader = csv.reader(_text(path).splitlines(keepends=True))
    start = 1
    try:
        for cells in reader:
            row, start = start, reader.line_num + 1
            if any(cell.strip() for cell in cells):
                yield row, [cell.strip() for cell in cells]
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: {exc}") from None


def _csv_table(path: Path) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    rows = list(_csv_rows(path))
    if not rows:
        raise InputError(f"{path}: empty file (expected a header row)")
    (header_row, header), body = rows[0], rows[1:]
    return header_row, [name.lower() for name in header], body


def _cell_count_problem(row: int, cells: list[str], header: list[str]) -> RowError | None:
    if len(cells) == len(header):
        return None
    return RowError(
        row,
        None,
        f"the row has {len(cells)} cells, the header {len(header)}",
        "wrong_cell_count",
    )


def read_sites(path: Path, file_format: str) -> list[SourceRow]:
    if file_format == "csv":
        return _sites_from_csv(path)
    if file_format == "json":
        return _sites_from_json(path)
    return _sites_from_ndjson(path)


def _sites_from_csv(path: Path) -> list[SourceRow]:
    header_row, header, body = _csv_table(path)
    unknown = [name for name in header if name not in SITE_COLUMNS]
    missing = [name for name in REQUIRED_SITE_COLUMNS if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise InputError(
            f"{path}:{header_row}: the header must name the columns "
            f"{', '.join(REQUIRED_SITE_COLUMNS)} and optionally district, band, each once"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    rows: list[SourceRow] = []
    for row, cells in body:
        problem = _cell_count_problem(row, cells, header)
        # An empty cell is an absent value: optional columns may be left blank.
        fields = {name: cell for name, cell in zip(header, cells, strict=False) if cell}
        rows.append(SourceRow(row, fields, from_text=True, problem=problem))
    return rows


def _load_json(path: Path) -> Any:
    try:
        return json.loads(_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None


def _sites_from_json(path: Path) -> list[SourceRow]:
    document = _load_json(path)
    if isinstance(document, dict) and isinstance(document.get("sites"), list):
        document = document["sites"]
    if not isinstance(document, list):
        raise InputError(f"{path}: expected a list of sites or an object with a 'sites' list")
    return [SourceRow(index + 1, entry, from_text=False) for index, entry in enumerate(document)]


def _sites_from_ndjson(path: Path) -> list[SourceRow]:
    rows: list[SourceRow] = []
    for row, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(SourceRow(row, json.loads(line), from_text=False))
        except json.JSONDecodeError as exc:
            problem = RowError(row, None, f"not valid JSON: {exc.msg}", "json_invalid")
            rows.append(SourceRow(row, None, from_text=False, problem=problem))
    return rows


def read_indicators(path: Path, file_format: str) -> list[IndicatorCell]:
    if file_format == "csv":
        return _indicators_from_csv(path)
    if file_format == "json":
        return _indicators_from_json(path)
    raise InputError(f"{path}: gigabit indicators are read from CSV or JSON, not {file_format}")


def _indicators_from_csv(path: Path) -> list[IndicatorCell]:
    header_row, header, body = _csv_table(path)
    if header == ["indicator", "value"]:  # long: one indicator per row
        cells: list[IndicatorCell] = []
        for row, values in body:
            if len(values) != 2:
                raise InputError(f"{path}:{row}: expected 'indicator,value', got {values!r}")
            cells.append(IndicatorCell(values[0], values[1], row, from_text=True))
        return cells
    if len(body) != 1:  # wide: the indicators are the columns of one row
        raise InputError(
            f"{path}:{header_row}: expected a header 'indicator,value', or indicator columns "
            f"with one row of values (found {len(body)} rows)"
        )
    row, values = body[0]
    if len(values) != len(header):
        raise InputError(f"{path}:{row}: the row has {len(values)} cells, the header {len(header)}")
    # A blank cell in the wide form is an indicator not reported this time (a subset is valid).
    return [
        IndicatorCell(key, value, row, from_text=True)
        for key, value in zip(header, values, strict=True)
        if value
    ]


def _indicators_from_json(path: Path) -> list[IndicatorCell]:
    document = _load_json(path)
    if isinstance(document, dict) and isinstance(document.get("indicators"), dict):
        document = document["indicators"]
    if not isinstance(document, dict):
        raise InputError(f"{path}: expected an object of indicator values")
    return [
        IndicatorCell(str(key), value, None, from_text=False) for key, value in document.items()
    ]
