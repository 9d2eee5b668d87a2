"""Chinese first, English by a switch: message catalogs (gettext, read with Babel), and dates,
months, numbers and percentages formatted for the language by Babel's CLDR data.

English is the source language (the msgids); ``locales/zh_CN/LC_MESSAGES/messages.po`` holds the
Chinese. A test extracts every message of the templates and of this package and fails on one
the catalog does not translate.
"""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton, get_month_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from services.portal.messages import error_text
from shared.domain.targets import City
from shared.report_files.rows import RowError
from shared.report_files.vocabulary import OPERATOR_LABELS, STATUS_LABELS

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT_LANGUAGE: Language = "zh"
LOCALES: dict[Language, Locale] = {"zh": Locale.parse("zh_Hans_CN"), "en": Locale.parse("en")}
CATALOG = Path(__file__).parent / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.po"
TIMEZONE = ZoneInfo("Asia/Shanghai")


def load_translations(language: Language) -> gettext.NullTranslations:
    """The catalog compiled in memory (no .mo file to keep in step with the .po)."""
    if language == "en":
        return gettext.NullTranslations()
    with CATALOG.open("rb") as po:
        catalog = read_po(po, locale="zh_CN")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


class Translator:
    """One language's words and formats, handed to every template as ``t``."""

    def __init__(self, language: Language, translations: gettext.NullTranslations) -> None:
        self.language = language
        self.locale = LOCALES[language]
        self.gettext = translations.gettext
        self.ngettext = translations.ngettext

    @property
    def html_lang(self) -> str:
        return "zh-CN" if self.language == "zh" else "en"

    def date(self, value: str | date | None) -> str:
        if not value:
            return "—"
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(day, "medium", locale=self.locale)

    def datetime(self, value: str | None) -> str:
        if not value:
            return "—"
        moment = datetime.fromisoformat(value)
        return format_datetime(moment, "medium", tzinfo=TIMEZONE, locale=self.locale)

    def month(self, value: str) -> str:
        """``2024-07`` as 2024年7月 or Jul 2024."""
        year, month = value.split("-")
        return format_skeleton("yMMM", date(int(year), int(month), 1), locale=self.locale)

    def month_short(self, number: int) -> str:
        """1 as 1月 or Jan (a calendar's column)."""
        return str(get_month_names("abbreviated", locale=self.locale)[number])

    def number(self, value: float | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "—"
        return format_percent(value, format="#,##0.0%", locale=self.locale)

    def city_name(self, city: City | dict[str, Any]) -> str:
        """济南市 or Jinan, from the targets' city or the API's view of one."""
        if isinstance(city, dict):
            return str(city["name"] if self.language == "zh" else city["name_en"])
        return city.name if self.language == "zh" else city.name_en

    def cell(self, field: str, value: str) -> str:
        """A site's value in the page's words: 中国移动 / China Mobile for china_mobile."""
        if field == "operator":
            return OPERATOR_LABELS[self.language].get(value, value)
        if field == "status":
            return STATUS_LABELS[self.language].get(value, value)
        return value

    def api_error(self, item: dict[str, Any]) -> str:
        """An error of the API's format (a rejected report's), translated by its code."""
        loc = item.get("loc") or []
        field = str(loc[-1]) if loc and not isinstance(loc[-1], int) else None
        code, message = str(item.get("code")), str(item.get("message"))
        return self.error(RowError(None, field, message, code, field))

    def error(self, error: RowError) -> str:
        """An error in the reader's words, translated by its code (and field); one the catalog
        does not know keeps the API's English message."""
        text = error_text(error.code, error.field)
        if text is None:
            return error.message
        return self.gettext(text)
