"""A city officer's month in a real browser (Debian's chromium under Playwright), in Chinese and
then in English: sign in, upload a file with two mistakes, read them at their rows, upload the
fixed file, submit, follow the report to applied, and find the city page's chart and figures
equal to what the API says. Every page is photographed; none asks anything of another host
(checked by the ``visit`` fixture for every test), none weighs more than 150 KB."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.portal.conftest import Portal, Visit

HEADER = "站点编号,运营商,状态,开通日期,纬度,经度,区县,频段\r\n"
GOOD_ROWS = [
    "JN-60001,中国移动,在网,2024/6/3,36.651,117.12,历下区,n41",
    "JN-60002,中国联通,在网,2024/6/12,36.70,117.01,槐荫区,n78",
    "JN-60003,中国电信,在网,2024/6/20,36.55,116.98,章丘区,n28",
    "JN-60004,中国广电,在网,2024/6/28,36.60,117.30,历城区,n28",
]


def write_gbk(path: Path, rows: list[str]) -> Path:
    """As Chinese Excel saves "CSV": GBK, CRLF."""
    path.write_bytes((HEADER + "\r\n".join(rows) + "\r\n").encode("gbk"))
    return path


def bad_file(directory: Path) -> Path:
    rows = list(GOOD_ROWS)
    rows[1] = rows[1].replace("36.70", "40.70")  # line 3: a latitude north of Shandong
    rows[2] = rows[2].replace("中国电信", "中国铁通")  # line 4: no such operator
    return write_gbk(directory / "济南-2024-06.csv", rows)


def check(visit: Visit, path: Path, period: str = "2024-06", as_of: str = "2024-06-30") -> None:
    """Upload ``path`` on the submit page: the dry run's page follows."""
    page = visit.page
    page.goto(visit.portal.url + "/submit")
    page.fill("#period", period)
    page.fill("#as_of", as_of)
    page.set_input_files("#file", str(path))
    # The click only starts the navigation: wait for the dry run's page to load before reading it.
    with page.expect_navigation():
        page.click("form[action='/submit'] button[type=submit]")


def error_rows(page: Page) -> dict[str, str]:
    return {
        row.get_attribute("data-row") or "": row.inner_text()
        for row in page.locator("tr.error-row").all()
    }


def assert_city_page_matches_the_api(page: Page, portal: Portal) -> None:
    with portal.api("viewer") as api:
        progress = api.get("/v1/cities/jinan/progress").json()
        history = {
            program: api.get("/v1/cities/jinan/history", params={"program": program}).json()
            for program in ("5g-2025", "5g-2027")
        }
    for program, answer in history.items():
        chart = page.locator(f"svg[data-program='{program}']")
        drawn = [
            (c.get_attribute("data-month"), float(c.get_attribute("data-new") or "nan"))
            for c in chart.locator("circle.actual-point").all()
        ]
        assert drawn == [(row["month"], float(row["new"])) for row in answer["rows"]], program
        planned = [
            float(c.get_attribute("data-planned") or "nan")
            for c in chart.locator("circle.planned-point").all()
        ]
        assert planned == [float(row["planned"]) for row in answer["rows"]], program
        shown = progress["programs"][program]
        section = page.locator(f"section[data-program='{program}']")
        for name in ("actual", "target", "judged_as_of", "attainment", "planned_to_date"):
            value = section.locator(f"dd[data-field='{name}']").get_attribute("data-value")
            assert value == str(shown[name]), (program, name)
    calendar = page.locator("table.calendar[data-kind='5g-sites'] td[data-month]")
    marked = {c.get_attribute("data-month"): c.get_attribute("data-report") for c in calendar.all()}
    assert marked == {row["month"]: row["report"] for row in history["5g-2027"]["rows"]}


def test_a_city_officer_fixes_a_file_submits_it_and_sees_it_applied_in_chinese(
    visit: Visit, portal: Portal, tmp_path: Path
) -> None:
    page = visit.page
    page.goto(portal.url + "/")
    expect(page).to_have_url(re.compile(r"/signin$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    visit.shot("signin")
    visit.sign_in("jinan-officer")
    expect(page.locator("h1")).to_have_text("山东省")
    assert page.locator("table.province tbody tr").count() == 16
    visit.shot("province")

    page.goto(portal.url + "/submit")
    expect(page.locator("#city")).to_have_value("济南市")  # a city token submits for its city
    visit.shot("submit")
    check(visit, bad_file(tmp_path))
    errors = error_rows(page)
    assert set(errors) == {"3", "4"}
    assert "纬度" in errors["3"] and "坐标超出山东省范围" in errors["3"]
    assert "运营商" in errors["4"] and "未知的运营商" in errors["4"]
    assert page.locator("form[action='/submit/send']").count() == 0  # nothing to submit
    visit.shot("submit-errors")

    check(visit, write_gbk(tmp_path / "济南-2024-06-改.csv", GOOD_ROWS))
    assert page.locator("tr.error-row").count() == 0
    expect(page.locator("dd[data-field='created']")).to_have_text("4")
    visit.shot("submit-check")
    page.click("form[action='/submit/send'] button[type=submit]")
    expect(page.locator("tr[data-status='applied']")).to_have_count(1, timeout=30_000)
    visit.shot("submit-applied")
    page.click("tr[data-status='applied'] a")
    expect(page.locator("dd[data-status]")).to_have_attribute("data-status", "applied")
    visit.shot("report")
    page.go_back()

    page.click("text=查看本市数据")
    expect(page.locator("h1")).to_contain_text("济南市")
    assert_city_page_matches_the_api(page, portal)
    visit.shot("city")


def test_the_same_in_english_after_the_switch_which_sticks(
    visit: Visit, portal: Portal, tmp_path: Path
) -> None:
    page = visit.page
    visit.sign_in("jinan-officer")
    page.click("button[name=language][value=en]")
    expect(page.locator("h1")).to_have_text("Shandong province")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    visit.shot("province-en")

    check(visit, bad_file(tmp_path))
    errors = error_rows(page)
    assert set(errors) == {"3", "4"}
    assert "纬度" in errors["3"] and "outside Shandong" in errors["3"]  # the file's own column
    assert "unknown operator" in errors["4"]
    visit.shot("submit-errors-en")

    july = [row.replace("JN-600", "JN-610").replace("2024/6/", "2024/7/") for row in GOOD_ROWS]
    july = [row.replace("2024/7/20", "2024/7/10").replace("2024/7/28", "2024/7/14") for row in july]
    check(visit, write_gbk(tmp_path / "jinan-2024-07.csv", july), "2024-07", "2024-07-14")
    assert page.locator("tr.error-row").count() == 0
    expect(page.locator("dd[data-field='created']")).to_have_text("4")
    page.click("form[action='/submit/send'] button[type=submit]")
    expect(page.locator("tr[data-status='applied']")).to_have_count(1, timeout=30_000)
    expect(page.locator("tr[data-status='applied'] td.report-applied")).to_have_text("applied")

    page.goto(portal.url + "/cities/jinan")  # a new page load: the choice is a cookie
    expect(page.locator("h1")).to_contain_text("Jinan")
    assert_city_page_matches_the_api(page, portal)
    visit.shot("city-en")
    page.click("button[name=language][value=zh]")
    expect(page.locator("h1")).to_contain_text("济南市")


def test_every_action_is_reachable_by_keyboard_and_every_field_is_labelled(
    visit: Visit, portal: Portal
) -> None:
    page = visit.page
    page.goto(portal.url + "/signin")
    page.keyboard.press("Tab")  # the skip link first
    assert page.evaluate("document.activeElement.className") == "skip"
    page.focus("#token")
    page.keyboard.type(portal.tokens["jinan-officer"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/province$"))
    for path in ("/province", "/cities/jinan", "/submit"):
        page.goto(portal.url + path)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                .filter(e => e.type !== 'hidden' && e.labels.length === 0
                        && !e.getAttribute('aria-label'))
                .map(e => e.outerHTML)"""
        )
        assert not unlabelled, (path, unlabelled)
        actions = page.evaluate(
            """() => [...document.querySelectorAll('a[href], button, input, select, summary')]
                .filter(e => e.type !== 'hidden' && !e.disabled && e.offsetParent !== null)
                .filter(e => e.type !== 'radio' || e.checked)  // a group: Tab, then arrows
                .map((e, i) => { e.dataset.action = String(i); return i; }).length"""
        )
        reached = set()
        for _ in range(actions + 5):
            page.keyboard.press("Tab")
            reached.add(page.evaluate("document.activeElement.dataset.action"))
        missed = {str(i) for i in range(actions)} - reached
        assert not missed, [
            page.locator(f"[data-action='{i}']").evaluate("e => e.outerHTML") for i in missed
        ]
    # The submit form, by keyboard alone: focus the kind, then Enter submits the form.
    page.goto(portal.url + "/submit")
    page.focus("#kind-sites")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#kind-gigabit")).to_be_checked()
    page.focus("#period")
    page.keyboard.press("Enter")  # no file chosen: the browser itself asks for it
    expect(page).to_have_url(re.compile(r"/submit$"))
