"""Files as officers have them: the same sites written as XLSX or CSV (UTF-8, UTF-8 with BOM,
GBK, GB18030), with English or Chinese headers and operator names, make the same report; the
templates read back; a bad row is named by its row and by the column as the file names it."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook

from shared.domain.state import ReportKind
from shared.report_files.batches import Batch
from shared.report_files.prepare import prepare_reports
from shared.report_files.readers import InputError, SourceFile
from shared.report_files.templates import TEMPLATE_FORMATS, template_bytes

AS_OF = date(2024, 6, 30)
SITES = [
    ("JN-0001", "china_mobile", "in_service", "2024-06-03", "36.651", "117.12", "历下区", "n41"),
    ("JN-0002", "china_unicom", "in_service", "2024-06-12", "36.70", "117.01", "槐荫区", ""),
    ("JN-0003", "china_telecom", "decommissioned", "2024-06-20", "36.55", "116.98", "", "n78"),
    ("JN-0004", "china_broadnet", "in_service", "2024-06-28", "36.60", "117.30", "章丘区", "n28"),
]
ENGLISH = ["site_id", "operator", "status", "commissioned_on", "lat", "lon", "district", "band"]
CHINESE = ["站点编号", "运营商", "状态", "开通日期", "纬度", "经度", "区县", "频段"]
CHINESE_WORDS = {"china_mobile": "中国移动", "china_unicom": "中国联通",
                 "china_telecom": "中国电信", "china_broadnet": "中国广电",
                 "in_service": "在网", "decommissioned": "退网"}  # fmt: skip


def rows(language: str, sites: list[tuple[str, ...]] = SITES) -> list[list[str]]:
    if language == "en":
        return [ENGLISH, *map(list, sites)]
    body = [[CHINESE_WORDS.get(cell, cell) for cell in site] for site in sites]
    for site in body:  # and the dates as Chinese Excel writes them
        year, month, day = site[3].split("-")
        site[3] = f"{year}/{int(month)}/{int(day)}"
    return [CHINESE, *body]


def as_csv(table: list[list[str]], encoding: str) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(table)
    return text.getvalue().encode(encoding)


def as_xlsx(table: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in table:
        # Excel holds numbers as numbers: write them so, as an officer's sheet would have them.
        sheet.append([float(c) if c.replace(".", "", 1).isdigit() and "." in c else c for c in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


WRITERS = {
    "xlsx": lambda table: ("sites.xlsx", as_xlsx(table)),
    "utf-8 csv": lambda table: ("sites.csv", as_csv(table, "utf-8")),
    "utf-8 csv with BOM": lambda table: ("sites.csv", as_csv(table, "utf-8-sig")),
    "gbk csv": lambda table: ("sites.csv", as_csv(table, "gbk")),
    "gb18030 csv": lambda table: ("sites.csv", as_csv(table, "gb18030")),
}


def report_of(name: str, data: bytes, kind: ReportKind = ReportKind.SITES) -> Batch:
    [batch] = prepare_reports(SourceFile(name, data), kind, "jinan", "2024-06", AS_OF)
    return batch


REFERENCE = report_of(*WRITERS["utf-8 csv"](rows("en")))


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("writer", list(WRITERS))
def test_the_same_sites_in_any_format_encoding_and_language_make_the_same_report(
    writer: str, language: str
) -> None:
    batch = report_of(*WRITERS[writer](rows(language)))
    assert batch.errors == ()
    assert batch.body == REFERENCE.body
    assert batch.report_id == REFERENCE.report_id
    assert batch.body["sites"][0]["district"] == "历下区"
    assert len(batch.body["sites"]) == len(SITES)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_a_bad_row_of_a_chinese_csv_is_named_by_its_row_and_its_chinese_column(
    encoding: str,
) -> None:
    sites = list(SITES)
    sites[1] = (*sites[1][:4], "40.2", *sites[1][5:])  # line 3: latitude outside Shandong
    sites[2] = (sites[2][0], "中国铁通", *sites[2][2:])  # line 4: no such operator
    batch = report_of("sites.csv", as_csv(rows("zh", sites), encoding))
    assert [(e.row, e.column, e.field, e.code) for e in batch.errors] == [
        (3, "纬度", "lat", "outside_shandong"),
        (4, "运营商", "operator", "literal_error"),
    ]
    assert batch.sent == 2  # the good rows are checked, the report is rejected whole


def test_a_server_error_is_placed_at_the_row_and_column_the_file_names() -> None:
    batch = report_of(*WRITERS["gbk csv"](rows("zh")))
    error = batch.error({"loc": ["body", "sites", 2, "site_id"], "code": "x", "message": "m"})
    assert (error.row, error.column, error.field) == (4, "站点编号", "site_id")


def test_a_gb18030_file_keeps_characters_gbk_does_not_have() -> None:
    sites = [(*SITES[0][:6], "㐀镇", SITES[0][7])]  # U+3400: in GB18030, not in GBK
    batch = report_of("sites.csv", as_csv(rows("zh", sites), "gb18030"))
    assert batch.body["sites"][0]["district"] == "㐀镇"


def test_bytes_that_are_no_known_encoding_are_refused_naming_the_byte() -> None:
    with pytest.raises(InputError, match=r"neither UTF-8 nor GBK/GB18030 text \(byte 8\)"):
        report_of("sites.csv", b"site_id,\xff\xff\xff\n")


def test_a_workbook_that_is_not_one_is_refused() -> None:
    with pytest.raises(InputError, match="not an XLSX workbook"):
        report_of("sites.xlsx", b"PK\x03\x04 not really")


@pytest.mark.parametrize("file_format", TEMPLATE_FORMATS)
@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("kind", [ReportKind.SITES, ReportKind.GIGABIT])
def test_every_template_reads_back_as_a_valid_report(
    kind: ReportKind, language: str, file_format: str
) -> None:
    data = template_bytes(kind, language, file_format)  # type: ignore[arg-type]
    batch = report_of(f"template.{file_format}", data, kind)
    assert batch.errors == ()
    assert batch.sent == (1 if kind is ReportKind.SITES else 7)


def test_chinese_indicator_names_read_as_their_keys() -> None:
    data = as_csv(
        [["指标", "数值"], ["城市家庭千兆光网覆盖率", "112.4"], ["5G用户占比", "x"]], "gbk"
    )
    batch = report_of("gigabit.csv", data, ReportKind.GIGABIT)
    assert batch.body["indicators"] == {"household_gigabit_coverage_pct": 112.4}
    [error] = batch.errors
    assert (error.row, error.column, error.field) == (3, "5G用户占比", "user_5g_share_pct")
