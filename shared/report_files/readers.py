"""Readers of the files a city submits, by ``pacer submit`` and the portal alike: 5G sites from
CSV, XLSX, JSON or NDJSON; gigabit indicators from CSV or XLSX (``indicator,value`` rows or one
wide row) or JSON. Each value keeps the row number a person would look up in the file.

Spreadsheets come as officers have them: CSV in UTF-8 (with or without a BOM), GBK or GB18030
(what Chinese Excel writes), headers and operator names in English or Chinese (vocabulary.py).

A problem with the file as a whole (unreadable, not JSON, missing or unknown columns) raises
InputError; a problem with one row is kept on that row, so the other rows can still be checked.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from shared.report_files.rows import IndicatorCell, RowError, SourceRow
from shared.report_files.vocabulary import (
    cell_value,
    indicator_key,
    long_form_column,
    site_column,
)
from shared.wire import Site

FORMATS = ("csv", "xlsx", "json", "ndjson")
_SUFFIXES = {".csv": "csv", ".xlsx": "xlsx", ".json": "json", ".ndjson": "ndjson"}
_SUFFIXES[".jsonl"] = "ndjson"
SITE_COLUMNS = Site.COLUMNS
REQUIRED_SITE_COLUMNS = tuple(
    name for name in Site.COLUMNS if Site.model_fields[name].is_required()
)
MAX_XLSX_UNPACKED_BYTES = 200 * 1024 * 1024
"""A workbook is a zip: one that would unpack past this is refused before it is opened (a
100,000-site sheet unpacks to about 20 MB)."""


class InputError(Exception):
    """The file cannot be read as a whole; the message names the file (and line, if known)."""


@dataclass(frozen=True)
class SourceFile:
    """A file's bytes and the name its messages use (a path, or an upload's file name)."""

    name: str
    data: bytes

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        try:
            return cls(str(path), path.read_bytes())
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except OSError as exc:
            raise InputError(f"{path}: {exc.strerror}") from None


def detect_format(name: str, given: str | None) -> str:
    if given:
        return given
    suffix = Path(name).suffix.lower()
    try:
        return _SUFFIXES[suffix]
    except KeyError:
        raise InputError(
            f"{name}: cannot tell the format from the extension; pass --format {'|'.join(FORMATS)}"
        ) from None


def decode_text(source: SourceFile) -> str:
    """UTF-8 (a BOM is dropped: it is not a column name), else GB18030, which reads GBK and
    GB2312 files as well (each is a subset)."""
    data = source.data
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise InputError(
                f"{source.name}: neither UTF-8 nor GBK/GB18030 text (byte {utf8_error.start})"
            ) from None


Table = tuple[int, list[str], list[tuple[int, list[str]]]]
"""(the header's row, its cells, [(row, cells)] of the body), blank rows left out."""


def _csv_rows(source: SourceFile) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, its cells), skipping blank lines; the header comes first."""
    reader = csv.reader(decode_text(source).splitlines(keepends=True))
    start = 1
    try:
        for cells in reader:
            row, start = start, reader.line_num + 1
            if any(cell.strip() for cell in cells):
                yield row, [cell.strip() for cell in cells]
    except csv.Error as exc:
        raise InputError(f"{source.name}:{reader.line_num}: {exc}") from None


def _cell_text(value: object) -> str:
    """An Excel cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))  # a site id typed as 123 is stored as 123.0
    return str(value).strip()


def _xlsx_rows(source: SourceFile) -> Iterator[tuple[int, list[str]]]:
    """The first worksheet's rows, numbered as Excel numbers them, blank ones skipped."""
    from openpyxl import load_workbook  # only when a workbook comes: ~0.2 s to import

    try:
        with zipfile.ZipFile(io.BytesIO(source.data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_XLSX_UNPACKED_BYTES:
            raise InputError(f"{source.name}: the workbook unpacks to {unpacked} bytes; too large")
        workbook = load_workbook(io.BytesIO(source.data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(f"{source.name}: not an XLSX workbook ({exc})") from None
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows():
            cells = [_cell_text(cell.value) for cell in row]
            number = next((c.row for c in row if getattr(c, "row", None)), None)
            while cells and not cells[-1]:
                cells.pop()  # Excel's used range often runs past the data
            if number is not None and any(cells):
                yield number, cells
    finally:
        workbook.close()


def _table(source: SourceFile, file_format: str) -> Table:
    rows = list(_xlsx_rows(source) if file_format == "xlsx" else _csv_rows(source))
    if not rows:
        raise InputError(f"{source.name}: empty file (expected a header row)")
    (header_row, header), body = rows[0], rows[1:]
    return header_row, header, body


def _cell_count_problem(row: int, cells: list[str], header: list[str]) -> RowError | None:
    if len(cells) == len(header):
        return None
    return RowError(
        row,
        None,
        f"the row has {len(cells)} cells, the header {len(header)}",
        "wrong_cell_count",
    )


def read_sites(source: SourceFile, file_format: str) -> list[SourceRow]:
    if file_format in ("csv", "xlsx"):
        return _sites_from_table(source, file_format)
    if file_format == "json":
        return _sites_from_json(source)
    return _sites_from_ndjson(source)


def _site_header(source: SourceFile, header_row: int, header: list[str]) -> list[str]:
    """The canonical column of each header cell; InputError naming what is wrong."""
    columns = [site_column(name) or "" for name in header]
    unknown = [name for name, column in zip(header, columns, strict=True) if not column]
    missing = [name for name in REQUIRED_SITE_COLUMNS if name not in columns]
    if unknown or missing or len(set(columns)) != len(columns):
        raise InputError(
            f"{source.name}:{header_row}: the header must name the columns "
            f"{', '.join(REQUIRED_SITE_COLUMNS)} and optionally district, band, each once "
            "(or 站点编号, 运营商, 状态, 开通日期, 纬度, 经度, 区县, 频段)"
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    return columns


def _sites_from_table(source: SourceFile, file_format: str) -> list[SourceRow]:
    header_row, header, body = _table(source, file_format)
    columns = _site_header(source, header_row, header)
    names: Mapping[str, str] = dict(zip(columns, header, strict=True))
    rows: list[SourceRow] = []
    for row, cells in body:
        if file_format == "xlsx":
            cells = cells + [""] * (len(header) - len(cells))  # trailing blanks are not stored
        problem = _cell_count_problem(row, cells, header)
        # An empty cell is an absent value: optional columns may be left blank.
        fields = {
            column: cell_value(column, cell)
            for column, cell in zip(columns, cells, strict=False)
            if cell
        }
        rows.append(SourceRow(row, fields, from_text=True, problem=problem, columns=names))
    return rows


def _load_json(source: SourceFile) -> Any:
    try:
        return json.loads(decode_text(source))
    except json.JSONDecodeError as exc:
        raise InputError(f"{source.name}:{exc.lineno}: not valid JSON: {exc.msg}") from None


def _sites_from_json(source: SourceFile) -> list[SourceRow]:
    document = _load_json(source)
    if isinstance(document, dict) and isinstance(document.get("sites"), list):
        document = document["sites"]
    if not isinstance(document, list):
        raise InputError(
            f"{source.name}: expected a list of sites or an object with a 'sites' list"
        )
    return [SourceRow(index + 1, entry, from_text=False) for index, entry in enumerate(document)]


def _sites_from_ndjson(source: SourceFile) -> list[SourceRow]:
    rows: list[SourceRow] = []
    for row, line in enumerate(decode_text(source).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(SourceRow(row, json.loads(line), from_text=False))
        except json.JSONDecodeError as exc:
            problem = RowError(row, None, f"not valid JSON: {exc.msg}", "json_invalid")
            rows.append(SourceRow(row, None, from_text=False, problem=problem))
    return rows


def read_indicators(source: SourceFile, file_format: str) -> list[IndicatorCell]:
    if file_format in ("csv", "xlsx"):
        return _indicators_from_table(source, file_format)
    if file_format == "json":
        return _indicators_from_json(source)
    raise InputError(
        f"{source.name}: gigabit indicators are read from CSV, XLSX or JSON, not {file_format}"
    )


def _indicators_from_table(source: SourceFile, file_format: str) -> list[IndicatorCell]:
    header_row, header, body = _table(source, file_format)
    if [long_form_column(name) for name in header] == ["indicator", "value"]:
        cells: list[IndicatorCell] = []
        for row, values in body:  # long: one indicator per row
            if len(values) != 2:
                raise InputError(
                    f"{source.name}:{row}: expected '{header[0]},{header[1]}', got {values!r}"
                )
            key = indicator_key(values[0])
            cells.append(IndicatorCell(key, values[1], row, from_text=True, label=values[0]))
        return cells
    if len(body) != 1:  # wide: the indicators are the columns of one row
        raise InputError(
            f"{source.name}:{header_row}: expected a header 'indicator,value' (指标,数值), or "
            f"indicator columns with one row of values (found {len(body)} rows)"
        )
    row, values = body[0]
    if len(values) > len(header) or (file_format == "csv" and len(values) != len(header)):
        raise InputError(
            f"{source.name}:{row}: the row has {len(values)} cells, the header {len(header)}"
        )
    # A blank cell in the wide form is an indicator not reported this time (a subset is valid).
    return [
        IndicatorCell(indicator_key(name), value, row, from_text=True, label=name)
        for name, value in zip(header, values, strict=False)
        if value
    ]


def _indicators_from_json(source: SourceFile) -> list[IndicatorCell]:
    document = _load_json(source)
    if isinstance(document, dict) and isinstance(document.get("indicators"), dict):
        document = document["indicators"]
    if not isinstance(document, dict):
        raise InputError(f"{source.name}: expected an object of indicator values")
    return [
        IndicatorCell(str(key), value, None, from_text=False) for key, value in document.items()
    ]
