"""``pacer submit`` without a server: reading files with their row numbers, the local checks,
cutting site lists into reports with content-derived ids, and tracing server errors to rows."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from shared.report_files.batches import Batch, gigabit_batch, site_batches
from shared.report_files.readers import InputError, SourceFile
from shared.report_files.readers import read_indicators as read_indicators_of
from shared.report_files.readers import read_sites as read_sites_of
from shared.report_files.rows import (
    IndicatorCell,
    RowError,
    SourceRow,
    check_indicators,
    check_sites,
)
from shared.wire import ReportId

AS_OF = date(2024, 7, 10)
HEADER = "site_id,operator,status,commissioned_on,lat,lon,district,band\n"


def csv_line(site_id: str, lat: str = "36.65", district: str = "") -> str:
    return f"{site_id},china_mobile,in_service,2024-07-01,{lat},117.12,{district},n41\n"


def read_sites(path: Path, file_format: str) -> list[SourceRow]:
    return read_sites_of(SourceFile.read(path), file_format)


def read_indicators(path: Path, file_format: str) -> list[IndicatorCell]:
    return read_indicators_of(SourceFile.read(path), file_format)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_rows_are_numbered_by_line_with_the_header_as_line_1(tmp_path: Path) -> None:
    text = HEADER + csv_line("A") + "\n" + csv_line("B", district='"two\nlines"') + csv_line("C")
    rows = read_sites(write(tmp_path / "s.csv", "\ufeff" + text), "csv")  # with a BOM
    assert [(row.row, row.fields["site_id"]) for row in rows] == [(2, "A"), (4, "B"), (6, "C")]
    assert "district" not in rows[0].fields  # a blank cell is an absent value


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("site_id,operator,status,lat,lon\n", "missing: commissioned_on"),
        (HEADER[:-1] + ",x\n", "unknown: x"),
    ],
)
def test_a_csv_header_without_the_columns_is_refused_naming_them(
    tmp_path: Path, header: str, named: str
) -> None:
    with pytest.raises(InputError, match=named):
        read_sites(write(tmp_path / "s.csv", header), "csv")


def test_local_checks_name_row_and_column_and_the_first_row_of_a_duplicate(
    tmp_path: Path,
) -> None:
    text = HEADER + csv_line("A") + csv_line("B", lat="40.1") + csv_line("A") + "D,x\n"
    checked = check_sites(read_sites(write(tmp_path / "s.csv", text), "csv"), AS_OF)
    errors = [error for row in checked for error in row.errors]
    assert [(e.row, e.column, e.code) for e in errors] == [
        (3, "lat", "outside_shandong"),
        (4, "site_id", "duplicate_site_id"),
        (5, None, "wrong_cell_count"),
    ]
    assert "already on row 2" in errors[1].message
    assert [row.site is not None for row in checked] == [True, False, False, False]


def test_json_elements_and_ndjson_lines_keep_their_numbers(tmp_path: Path) -> None:
    listed = write(tmp_path / "s.json", json.dumps({"sites": [{"site_id": "A"}, 3]}))
    lines = write(tmp_path / "s.ndjson", '{"site_id": "A"}\n\n{oops\n')
    assert [row.row for row in read_sites(listed, "json")] == [1, 2]
    [first, broken] = read_sites(lines, "ndjson")
    assert (first.row, broken.row, broken.problem and broken.problem.code) == (1, 3, "json_invalid")


def test_an_error_renders_as_file_row_column_message_code() -> None:
    error = RowError(7, "lat", "latitude 40.1 is outside", "outside_shandong")
    assert error.render("s.csv") == "s.csv:7: lat: latitude 40.1 is outside (outside_shandong)"
    assert (
        RowError(None, "period", "not begun", "x").render("s.csv") == "s.csv: period: not begun (x)"
    )


def sites_file(tmp_path: Path, count: int, bad_line: int | None = None) -> Path:
    lines = [csv_line(f"S{n}", lat="99" if n + 2 == bad_line else "36.65") for n in range(count)]
    return write(tmp_path / "s.csv", HEADER + "".join(lines))


def batches_of(path: Path, size: int = 10) -> list[Batch]:
    checked = check_sites(read_sites(path, "csv"), AS_OF)
    return site_batches("jinan", "2024-07", AS_OF, checked, size)


def test_site_lists_are_cut_by_position_into_reports_with_content_derived_ids(
    tmp_path: Path,
) -> None:
    batches = batches_of(sites_file(tmp_path, 25))
    again = batches_of(sites_file(tmp_path, 25))
    assert [(b.rows_in_file, b.first_row, b.last_row) for b in batches] == [
        (10, 2, 11), (10, 12, 21), (5, 22, 26)
    ]  # fmt: skip
    assert [b.report_id for b in batches] == [b.report_id for b in again]
    assert len({b.report_id for b in batches}) == 3
    for batch in batches:
        assert batch.report_id.startswith("jinan-5g-sites-2024-07-")
        assert TypeAdapter(ReportId).validate_python(batch.report_id) == batch.report_id
        assert batch.body["report_id"] == batch.report_id


def test_a_bad_row_changes_only_its_own_report_and_server_errors_map_to_file_rows(
    tmp_path: Path,
) -> None:
    good = batches_of(sites_file(tmp_path, 25))
    bad = batches_of(sites_file(tmp_path, 25, 15))
    assert [g.report_id == b.report_id for g, b in zip(good, bad, strict=True)] == [
        True,
        False,
        True,
    ]
    second = bad[1]  # lines 12..21, line 15 dropped from the body
    assert [e.row for e in second.errors] == [15]
    assert second.sent == 9
    assert second.locate(["body", "sites", 3, "site_id"]) == (16, "site_id")
    assert second.locate(["body", "period"]) == (None, "period")


def test_gigabit_indicators_from_rows_a_wide_row_or_an_object(tmp_path: Path) -> None:
    rows = write(tmp_path / "g.csv", "indicator,value\nbs_5g_per_10k,21.7\nuser_5g_share_pct,x\n")
    wide = write(tmp_path / "w.csv", "bs_5g_per_10k,user_5g_share_pct\n21.7,\n")
    as_json = write(tmp_path / "g.json", json.dumps({"indicators": {"bs_5g_per_10k": True}}))

    from_rows = check_indicators(read_indicators(rows, "csv"))
    assert from_rows.values == {"bs_5g_per_10k": 21.7}
    assert [(e.row, e.column, e.code) for e in from_rows.errors] == [
        (3, "user_5g_share_pct", "float_parsing")
    ]
    assert check_indicators(read_indicators(wide, "csv")).values == {"bs_5g_per_10k": 21.7}
    assert check_indicators(read_indicators(as_json, "json")).errors[0].code == "float_type"
    batch = gigabit_batch("jinan", "2024-07", AS_OF, from_rows)
    assert batch.report_id.startswith("jinan-gigabit-2024-07-")
    assert batch.locate(["body", "indicators", "bs_5g_per_10k"]) == (2, "bs_5g_per_10k")
