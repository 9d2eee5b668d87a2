"""One call from a file to the reports it makes: the same path for ``pacer submit`` and the
portal."""

from __future__ import annotations

from datetime import date

from shared.domain.state import ReportKind
from shared.report_files.batches import Batch, gigabit_batch, site_batches
from shared.report_files.readers import SourceFile, detect_format, read_indicators, read_sites
from shared.report_files.rows import check_indicators, check_sites
from shared.wire import MAX_SITES_PER_REPORT


def prepare_reports(
    source: SourceFile,
    kind: ReportKind,
    city: str,
    period: str,
    as_of: date,
    *,
    file_format: str | None = None,
    batch_size: int = MAX_SITES_PER_REPORT,
) -> list[Batch]:
    """Read and check the file; raises InputError or BatchError when it cannot be used. Rows
    with problems stay in their report's ``errors``."""
    file_format = detect_format(source.name, file_format)
    if kind is ReportKind.GIGABIT:
        checked = check_indicators(read_indicators(source, file_format))
        return [gigabit_batch(city, period, as_of, checked)]
    rows = read_sites(source, file_format)
    checked_sites = check_sites(rows, as_of)
    columns = rows[0].columns if rows else None
    return site_batches(city, period, as_of, checked_sites, batch_size, columns)
