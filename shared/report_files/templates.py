"""Empty forms for a month's report, as CSV or XLSX, with Chinese or English headers: the headers
and an example row a city fills in. ``pacer template`` writes them; the portal offers them for
download. Each one reads back through the readers as a valid report (a test holds this)."""

from __future__ import annotations

import csv
import io
from typing import Literal

from shared.domain.state import ReportKind
from shared.report_files.vocabulary import (
    INDICATOR_LONG_HEADERS,
    INDICATOR_NAMES,
    OPERATOR_LABELS,
    STATUS_LABELS,
    TEMPLATE_SITE_HEADERS,
)

Language = Literal["zh", "en"]
TEMPLATE_FORMATS = ("csv", "xlsx")

_EXAMPLE_SITE = ("JN-000123", "china_mobile", "in_service", "2024-06-12", "36.651", "117.12",
                 "历下区", "n41")  # fmt: skip
_EXAMPLE_INDICATORS = {
    "household_gigabit_coverage_pct": "112.4",
    "pon_10g_port_share_pct": "31.0",
    "key_location_5g_reach_pct": "95.0",
    "bs_5g_per_10k": "21.7",
    "bb_500m_user_share_pct": "30.5",
    "bb_1000m_users": "1250000",
    "user_5g_share_pct": "56.0",
}


def template_rows(kind: ReportKind, language: Language) -> list[list[str]]:
    """The header row and the example rows."""
    if kind is ReportKind.SITES:
        site_id, operator, status, *rest = _EXAMPLE_SITE
        example = [
            site_id,
            OPERATOR_LABELS[language][operator] if language == "zh" else operator,
            STATUS_LABELS[language][status] if language == "zh" else status,
            *rest,
        ]
        return [list(TEMPLATE_SITE_HEADERS[language]), example]
    names = {key: (aliases[0] if language == "zh" else key) for key, aliases in
             INDICATOR_NAMES.items()}  # fmt: skip
    header = [
        INDICATOR_LONG_HEADERS[column][1] if language == "zh" else column
        for column in ("indicator", "value")
    ]
    return [header, *([names[key], value] for key, value in _EXAMPLE_INDICATORS.items())]


def template_filename(kind: ReportKind, language: Language, file_format: str) -> str:
    return f"pacer-{kind}-template-{language}.{file_format}"


def template_bytes(kind: ReportKind, language: Language, file_format: str) -> bytes:
    rows = template_rows(kind, language)
    if file_format == "csv":
        text = io.StringIO()
        csv.writer(text, lineterminator="\r\n").writerows(rows)
        return text.getvalue().encode("utf-8-sig")  # with a BOM: Excel then reads it as UTF-8
    if file_format != "xlsx":
        raise ValueError(f"templates are CSV or XLSX, not {file_format}")
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = str(kind)
    for row in rows:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, _ in enumerate(rows[0]):
        letter = get_column_letter(index + 1)
        sheet.column_dimensions[letter].width = max(12, max(len(r[index]) for r in rows) * 2)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
