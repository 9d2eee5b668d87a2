"""The portal's words: every message of its templates and code has a Chinese translation; the
API's error codes read in Chinese (by code and column), dates and numbers in each language's
forms; an error the catalog does not know keeps the API's own message."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from services.portal import messages
from services.portal.i18n import CATALOG, Translator, load_translations
from shared.report_files.rows import RowError

PORTAL = Path(messages.__file__).parent
METHODS = [
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True"}}


def extracted() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(PORTAL), METHODS, options_map=OPTIONS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_of_the_portal_has_a_chinese_translation() -> None:
    with CATALOG.open("rb") as po:
        catalog = read_po(po, locale="zh_CN")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string)) and not m.fuzzy
    }
    messages_found = extracted()
    assert len(messages_found) > 150
    missing = sorted(messages_found - translated)
    assert not missing, f"untranslated (run pybabel extract/update, see babel.cfg): {missing}"


@pytest.fixture(scope="module")
def zh() -> Translator:
    return Translator("zh", load_translations("zh"))


@pytest.fixture(scope="module")
def en() -> Translator:
    return Translator("en", load_translations("en"))


def test_dates_months_and_numbers_are_written_as_each_language_writes_them(
    zh: Translator, en: Translator
) -> None:
    assert zh.date("2024-07-15") == "2024年7月15日"
    assert en.date("2024-07-15") == "Jul 15, 2024"
    assert zh.month("2024-07") == "2024年7月"
    assert en.month("2024-07") == "Jul 2024"
    assert zh.number(70000) == en.number(70000) == "70,000"
    assert zh.percent(0.9567) == "95.7%"
    assert zh.datetime("2024-07-15T04:00:00+00:00").startswith("2024年7月15日")
    assert zh.month_short(7) == "7月" and en.month_short(7) == "Jul"


@pytest.mark.parametrize(
    ("code", "field", "chinese"),
    [
        ("outside_shandong", "lat", "坐标超出山东省范围"),
        ("literal_error", "operator", "未知的运营商"),
        ("literal_error", "status", "未知的状态"),
        ("duplicate_site_id", "site_id", "该站点编号已在前面的行中出现"),
        ("site_registered_elsewhere", "site_id", "该站点编号已登记在其他城市"),
        ("as_of_in_future", "as_of", "截至日期晚于今天"),
    ],
)
def test_api_errors_are_translated_by_code_and_field(
    zh: Translator, code: str, field: str, chinese: str
) -> None:
    error = RowError(3, "纬度", "an English message from the API", code, field)
    assert zh.error(error).startswith(chinese)


def test_an_unknown_error_code_keeps_the_api_message(zh: Translator, en: Translator) -> None:
    error = RowError(None, None, "something new went wrong", "brand_new_code")
    assert zh.error(error) == en.error(error) == "something new went wrong"


def test_english_uses_the_source_texts(en: Translator) -> None:
    error = RowError(4, "operator", "Input should be ...", "literal_error", "operator")
    assert en.error(error).startswith("unknown operator")


def test_a_rejected_reports_errors_are_translated_by_code(zh: Translator) -> None:
    item = {"loc": ["body", "sites", 3, "site_id"], "code": "site_registered_elsewhere",
            "message": "site_id 'QD-1' is registered to qingdao"}  # fmt: skip
    assert zh.api_error(item) == "该站点编号已登记在其他城市"
    assert zh.api_error({"loc": [], "code": "new", "message": "as sent"}) == "as sent"
