"""The words officers' spreadsheets use for Pacer's columns and values, English or Chinese.

A city's statistics office keeps its site list in Excel with Chinese headers (站点编号, 运营商...)
and operators written as 中国移动; the API takes ``site_id`` and ``china_mobile``. Spreadsheet
readers (CSV, XLSX) translate headers and the operator and status cells through these tables;
JSON stays the API's own format and is taken as it is.
"""

from __future__ import annotations

import re
import unicodedata

SITE_COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "site_id": ("site_id", "站点编号", "站点id", "站点编码", "基站编号", "基站id", "站址编码"),
    "operator": ("operator", "运营商", "所属运营商"),
    "status": ("status", "状态", "站点状态", "运行状态"),
    "commissioned_on": ("commissioned_on", "开通日期", "开通时间", "投产日期", "入网日期"),
    "lat": ("lat", "latitude", "纬度"),
    "lon": ("lon", "longitude", "经度"),
    "district": ("district", "区县", "所属区县", "区/县"),
    "band": ("band", "频段", "频率"),
}
"""Canonical column -> the header texts that name it (compared after ``header_key``)."""

TEMPLATE_SITE_HEADERS = {
    "en": tuple(SITE_COLUMN_NAMES),
    "zh": ("站点编号", "运营商", "状态", "开通日期", "纬度", "经度", "区县", "频段"),
}

OPERATOR_NAMES: dict[str, tuple[str, ...]] = {
    "china_mobile": ("china_mobile", "中国移动", "移动", "china mobile", "cmcc"),
    "china_unicom": ("china_unicom", "中国联通", "联通", "china unicom", "cucc"),
    "china_telecom": ("china_telecom", "中国电信", "电信", "china telecom", "ctcc"),
    "china_broadnet": ("china_broadnet", "中国广电", "广电", "china broadnet", "cbn"),
}
OPERATOR_LABELS = {
    "zh": {"china_mobile": "中国移动", "china_unicom": "中国联通", "china_telecom": "中国电信",
           "china_broadnet": "中国广电"},
    "en": {"china_mobile": "China Mobile", "china_unicom": "China Unicom",
           "china_telecom": "China Telecom", "china_broadnet": "China Broadnet"},
}  # fmt: skip
STATUS_NAMES: dict[str, tuple[str, ...]] = {
    "in_service": ("in_service", "在网", "在用", "开通", "运行", "in service"),
    "decommissioned": ("decommissioned", "退网", "拆除", "停用", "已退网"),
}
STATUS_LABELS = {
    "zh": {"in_service": "在网", "decommissioned": "退网"},
    "en": {"in_service": "in service", "decommissioned": "decommissioned"},
}

INDICATOR_NAMES: dict[str, tuple[str, ...]] = {
    "household_gigabit_coverage_pct": ("城市家庭千兆光网覆盖率", "家庭千兆光网覆盖率"),
    "pon_10g_port_share_pct": ("10g-pon端口占比", "10g pon端口占比"),
    "key_location_5g_reach_pct": ("重点场所5g网络通达率", "重点场所5g通达率"),
    "bs_5g_per_10k": ("每万人拥有5g基站数", "每万人5g基站数"),
    "bb_500m_user_share_pct": ("500mbps及以上用户占比", "500m及以上用户占比"),
    "bb_1000m_users": ("千兆宽带用户数", "1000mbps及以上用户数"),
    "user_5g_share_pct": ("5g用户占比", "5g移动电话用户占比"),
}
"""The MIIT gigabit-city annex's names for the shipped indicator keys; a key itself is always
accepted, and one not listed here goes to the server as written (the targets file decides)."""
INDICATOR_LONG_HEADERS = {"indicator": ("indicator", "指标", "指标名称"),
                          "value": ("value", "数值", "值", "指标值")}  # fmt: skip


def header_key(text: str) -> str:
    """A header or cell compared loosely: full-width forms folded (NFKC), no case, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _lookup(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {header_key(alias): key for key, aliases in table.items() for alias in (key, *aliases)}


_SITE_COLUMNS = _lookup(SITE_COLUMN_NAMES)
_OPERATORS = _lookup(OPERATOR_NAMES)
_STATUSES = _lookup(STATUS_NAMES)
_INDICATORS = _lookup(INDICATOR_NAMES)
_LONG = _lookup(INDICATOR_LONG_HEADERS)


def site_column(header: str) -> str | None:
    return _SITE_COLUMNS.get(header_key(header))


def indicator_key(header: str) -> str:
    """The indicator a header or cell names: a known alias's key, else the text itself."""
    return _INDICATORS.get(header_key(header), header.strip())


def long_form_column(header: str) -> str | None:
    """``indicator`` or ``value`` for the headers of the long gigabit form."""
    return _LONG.get(header_key(header))


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def cell_value(column: str, text: str) -> str:
    """A spreadsheet cell as the API spells it: operator and status names, and dates written
    2024/6/12 or 2024年6月12日 (as Chinese Excel saves them) as 2024-06-12. Anything else is
    left for validation to judge, as written."""
    if column == "operator":
        return _OPERATORS.get(header_key(text), text)
    if column == "status":
        return _STATUSES.get(header_key(text), text)
    if column == "commissioned_on" and (match := _DATE.match(text.strip())):
        year, month, day = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return text
