"""``GET /v1/export.csv?month=YYYY-MM`` (contract §6): every city and programme at a month's end.

UTF-8 with a byte-order mark, so Excel opens the Chinese names; a header row; one row per city and
programme open that month, the province's row after each programme's cities. Each row is the
month's history row (``history_view``) flattened: nested indicator values become one column per
indicator, the province's report counts one column per timeliness; null is an empty cell and a
boolean ``true``/``false``. A city whose history does not reach the month yet (its reports for it
are not due) has only its names, programme and ``report`` (``not_due``) filled; so has the
province, with its cities' report counts, until its own history reaches the month.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.ingest.history_view import city_row, province_row, report_fields
from shared.domain.calendar import Period
from shared.domain.history import Timeliness, month_standings, timeliness_counts
from shared.domain.state import CityState
from shared.domain.targets import Targets

BOM = "\ufeff"
PROVINCE = {"city": "province", "code": "", "name": "全省", "name_en": "Province"}
"""The province's row names itself so (the targets file names only the cities)."""
FIGURES = (
    "judged_as_of",
    "final",
    "status",
    "attainment",
    "new",
    "planned",
    "target",
    "in_service",
    "indicators_passing",
    "indicators_thresholded",
    "standard_met",
    "cities_meeting_standard",
    "cities_reporting",
    "cities",
    "report",
    "received_at",
    "report_due",
)
REPORT_COUNTS = tuple(f"reports_{t}" for t in Timeliness)


def columns(targets: Targets) -> tuple[str, ...]:
    indicators = dict.fromkeys(i.key for p in targets.gigabit_programs for i in p.indicators)
    names = ("month", "city", "code", "name", "name_en", "program", "kind")
    return (*names, *FIGURES, *REPORT_COUNTS, *indicators)


def flat(row: dict[str, Any]) -> dict[str, Any]:
    """A history row as CSV cells: indicators and report counts spread into their columns."""
    cells = {k: v for k, v in row.items() if k not in ("indicators", "reports")}
    for key, standing in row.get("indicators", {}).items():
        cells[key] = standing["value"]
    for timeliness, count in row.get("reports", {}).items():
        cells[f"reports_{timeliness}"] = count
    return cells


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_rows(
    targets: Targets, states: dict[str, CityState], now: datetime, month: Period
) -> Iterable[dict[str, Any]]:
    for standing in month_standings(targets, states, now, month):
        program = {"program": standing.program.id, "kind": str(standing.program.kind)}
        for line in standing.cities:
            city = line.city
            names = {"city": city.id, "code": city.code, "name": city.name, "name_en": city.name_en}
            row = (
                city_row(line.row)
                if line.row
                else {"month": str(month)} | report_fields(line.report)
            )
            yield names | program | flat(row)
        if standing.province is not None:
            yield PROVINCE | program | flat(province_row(standing.province))
        else:
            counts = timeliness_counts(line.report for line in standing.cities)
            yield PROVINCE | program | {"month": str(month)} | flat({"reports": counts})


def export_csv(
    targets: Targets, states: dict[str, CityState], now: datetime, month: Period
) -> bytes:
    """The whole body of ``GET /v1/export.csv``."""
    header = columns(targets)
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in export_rows(targets, states, now, month):
        writer.writerow([cell(row.get(column)) for column in header])
    return buffer.getvalue().encode("utf-8")
