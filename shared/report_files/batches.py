"""Reports made from checked rows: site lists cut into reports of at most MAX_SITES_PER_REPORT
sites, each with an id derived from its content.

The id is ``<city>-<kind>-<period>-<first 16 hex digits of shared.wire.body_fingerprint>``: the
fingerprint the server compares a resubmission against, so the same file, city, period and as_of
give the same ids and a second run is answered ``duplicate`` report by report. Reports are cut
by position in the file, valid rows or not, so fixing a bad row changes only its own report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import TypeAdapter, ValidationError

from shared.domain.state import ReportKind
from shared.report_files.rows import CheckedIndicators, CheckedSite, RowError
from shared.wire import GigabitReport, Report, ReportId, SitesReport, body_fingerprint

_REPORT_ID: TypeAdapter[str] = TypeAdapter(ReportId)


class BatchError(ValueError):
    """The report cannot be built (an id that is not a valid report id, from a strange city)."""


@dataclass(frozen=True)
class Batch:
    """One report to send, and how to trace the server's answers back to the file."""

    number: int
    kind: ReportKind
    report_id: str
    body: dict[str, Any]
    """The JSON body: the rows that passed the local checks, and the report id."""
    rows_in_file: int
    """Rows of the file this report covers, including those that failed the local checks."""
    first_row: int | None
    last_row: int | None
    row_of: dict[int | str, int | None] = field(repr=False)
    """Site index in ``body["sites"]`` (or indicator key) -> row in the file."""
    errors: tuple[RowError, ...] = ()
    """Found locally: a report with any is rejected whole, so it is never stored."""
    columns: Mapping[str, str] = field(default_factory=dict, repr=False)
    """API field (or indicator key) -> how the file names it, where it names it otherwise."""

    @property
    def sent(self) -> int:
        """Sites or indicators in the body."""
        return len(self.body["sites"] if self.kind is ReportKind.SITES else self.body["indicators"])

    def locate(self, loc: Sequence[Any]) -> tuple[int | None, str | None]:
        """(row in the file, column as the file names it) for an error ``loc`` from the server."""
        row, field_name = self._place(loc)
        return row, self.columns.get(field_name, field_name) if field_name else None

    def _place(self, loc: Sequence[Any]) -> tuple[int | None, str | None]:
        parts = list(loc[1:] if loc and loc[0] == "body" else loc)
        if len(parts) >= 2 and parts[0] in ("sites", "indicators"):
            row = self.row_of.get(parts[1])
            if parts[0] == "indicators":
                return row, str(parts[1])
            return row, ".".join(str(part) for part in parts[2:]) or None
        return None, ".".join(str(part) for part in parts) or None

    def error(self, item: Mapping[str, Any]) -> RowError:
        """An error of the API's format (``loc``, ``code``, ``message``) placed in the file."""
        loc = item.get("loc") or []
        row, column = self.locate(loc)
        _, field_name = self._place(loc)
        return RowError(row, column, str(item.get("message")), str(item.get("code")), field_name)


def report_id(city: str, kind: ReportKind, report: Report) -> str:
    digest = body_fingerprint(city, kind, report)[:16]
    candidate = f"{city}-{kind}-{report.period}-{digest}"
    try:
        return _REPORT_ID.validate_python(candidate)
    except ValidationError:
        raise BatchError(f"cannot make a valid report id for city {city!r}") from None


def _body(report: Report, report_id: str) -> dict[str, Any]:
    return {"report_id": report_id} | report.model_dump(mode="json", exclude_none=True)


def site_batches(
    city: str,
    period: str,
    as_of: date,
    checked: list[CheckedSite],
    size: int,
    columns: Mapping[str, str] | None = None,
) -> list[Batch]:
    """At least one report: an empty file is the report that no site was commissioned.
    ``columns``: how the file names the fields (SourceRow.columns), for the server's errors."""
    chunks = [checked[start : start + size] for start in range(0, len(checked), size)] or [[]]
    batches: list[Batch] = []
    for number, chunk in enumerate(chunks, start=1):
        valid = [row for row in chunk if row.site is not None]
        report = SitesReport(
            period=period, as_of=as_of, sites=[row.site for row in valid if row.site]
        )
        rid = report_id(city, ReportKind.SITES, report)
        batches.append(
            Batch(
                number=number,
                kind=ReportKind.SITES,
                report_id=rid,
                body=_body(report, rid),
                rows_in_file=len(chunk),
                first_row=chunk[0].row if chunk else None,
                last_row=chunk[-1].row if chunk else None,
                row_of={index: row.row for index, row in enumerate(valid)},
                errors=tuple(error for row in chunk for error in row.errors),
                columns=dict(columns or {}),
            )
        )
    return batches


def gigabit_batch(city: str, period: str, as_of: date, checked: CheckedIndicators) -> Batch:
    report = GigabitReport(period=period, as_of=as_of, indicators=checked.values)
    rid = report_id(city, ReportKind.GIGABIT, report)
    rows = [row for row in checked.rows.values() if row is not None]
    return Batch(
        number=1,
        kind=ReportKind.GIGABIT,
        report_id=rid,
        body=_body(report, rid),
        rows_in_file=len(checked.rows),
        first_row=min(rows, default=None),
        last_row=max(rows, default=None),
        row_of={key: row for key, row in checked.rows.items()},
        errors=tuple(checked.errors),
        columns=dict(checked.labels),
    )
