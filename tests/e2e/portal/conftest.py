"""One Pacer (``pacer up``, every service a real process) and one browser for all the portal's
end-to-end tests: Debian's chromium driven by Playwright.

The clock is fixed in mid-July 2024, so June's reports are the ones due; Jinan has reported
January to May before the tests start, so its history and calendar have something to show.
Screenshots go to the package's output folder (``PACER_SCREENSHOTS_DIR`` to keep them).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, Request, Response, sync_playwright

from tests.support.pacer_up import PacerUp, launch
from tests.support.processes import (
    SERVICE_PORT_VARS,
    require_binary,
    wait_until,
)

pytestmark = pytest.mark.slow

CLOCK = "fixed:2024-07-15T12:00:00+08:00"
MAX_UPLOAD_BYTES = 256 * 1024
CHROMIUM = "/usr/bin/chromium"
PAGE_BUDGET_BYTES = 150 * 1024
STARTUP_TIMEOUT_S = 120.0


@dataclass
class Portal:
    up: PacerUp
    tokens: dict[str, str]
    screenshots: Path

    @property
    def url(self) -> str:
        return self.up.url("portal")

    def api(self, token_name: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.up.url("ingest"),
            headers={"Authorization": f"Bearer {self.tokens[token_name]}"},
            timeout=10,
        )


def _sites(month: int, count: int, first: int) -> list[dict[str, Any]]:
    return [
        {"site_id": f"JN-{first + n:05d}", "operator": "china_mobile", "status": "in_service",
         "commissioned_on": f"2024-{month:02d}-{1 + n % 27:02d}", "lat": 36.6, "lon": 117.1,
         "district": "历下区"}
        for n in range(count)
    ]  # fmt: skip


def _seed_jinan(portal: Portal) -> None:
    """January to May: sites each month (March sent late), gigabit indicators."""
    with portal.api("jinan-officer") as api:
        first = 1
        for month, last_day in ((1, 31), (2, 29), (3, 31), (4, 30), (5, 31)):
            period, as_of = f"2024-{month:02d}", f"2024-{month:02d}-{last_day}"
            body = {
                "period": period,
                "as_of": as_of,
                "sites": _sites(month, 60 + 20 * month, first),
            }
            first += len(body["sites"])
            assert api.post("/v1/cities/jinan/reports/5g-sites", json=body).status_code == 202
            indicators = {
                "household_gigabit_coverage_pct": 100.0 + month,
                "pon_10g_port_share_pct": 20.0 + month,
                "bs_5g_per_10k": 20.5,
            }
            body = {"period": period, "as_of": as_of, "indicators": indicators}
            assert api.post("/v1/cities/jinan/reports/gigabit", json=body).status_code == 202


@pytest.fixture(scope="package")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    require_binary("redis-server")
    workdir = tmp_path_factory.mktemp("portal-stack")
    up = launch(
        workdir,
        workdir / "pacer-up.log",
        PACER_CLOCK=CLOCK,
        PACER_EVAL_INTERVAL="2",
        PACER_RESOLVE_HOLD="0",  # the clock stands still: a held alert would never resolve
        PACER_PORTAL_MAX_UPLOAD_BYTES=str(MAX_UPLOAD_BYTES),
    )
    try:
        for name in SERVICE_PORT_VARS:  # generous: five processes start at once on two cores
            wait_until(lambda name=name: up.is_ready(name), timeout=STARTUP_TIMEOUT_S)
        screenshots = Path(os.environ.get("PACER_SCREENSHOTS_DIR") or workdir / "screenshots")
        screenshots.mkdir(parents=True, exist_ok=True)
        stack = Portal(up, up.tokens(), screenshots)
        _seed_jinan(stack)
        yield stack
    finally:
        up.stop()


def _require_chinese_fonts() -> None:
    """Without a CJK font Chinese renders as boxes in the screenshots (the tests would pass,
    the pictures would be useless): under CI=true that fails, as a missing binary does."""
    families = subprocess.run(
        [require_binary("fc-list"), ":lang=zh", "family"], capture_output=True, text=True
    ).stdout
    if not families.strip() and os.environ.get("CI") == "true":
        pytest.fail("no Chinese font (apt: fonts-noto-cjk, see .ci/run)")


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = require_binary(Path(CHROMIUM).name)  # fails under CI=true, else skips
    _require_chinese_fonts()
    with sync_playwright() as playwright:
        launched = _launch(playwright, executable)
        yield launched
        launched.close()


def _launch(playwright: Playwright, executable: str) -> Browser:
    # Playwright's own browser download is not available here; Debian's chromium is. Root
    # (CI) needs --no-sandbox.
    return playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])


@dataclass
class Visit:
    """A browser tab and everything it asked for, with the bytes each page took."""

    page: Page
    portal: Portal
    requests: list[str] = field(default_factory=list)
    documents: dict[str, int] = field(default_factory=dict)
    """The URL of each page loaded -> the bytes of it and of everything it loaded."""
    _current: str = ""

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_response(self, response: Response) -> None:
        if response.status in (301, 302, 303, 307, 308):
            return
        size = int(response.headers.get("content-length") or len(response.body()))
        if response.request.resource_type == "document":
            self._current = response.url
            self.documents[self._current] = 0
        if self._current:
            self.documents[self._current] += size

    def shot(self, name: str) -> Path:
        path = self.portal.screenshots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, token_name: str) -> None:
        self.page.goto(self.portal.url + "/signin")
        self.page.fill("#token", self.portal.tokens[token_name])
        self.page.click("form[action='/signin'] button[type=submit]")
        self.page.wait_for_url(re.compile(r".*/province$"))


@pytest.fixture
def visit(browser: Browser, portal: Portal) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    opened = Visit(page, portal)
    page.on("request", opened.on_request)
    page.on("response", opened.on_response)
    yield opened
    context.close()
    outside = [url for url in opened.requests if not url.startswith(portal.url + "/")]
    assert not outside, f"requests outside the portal: {outside}"
    heavy = {url: size for url, size in opened.documents.items() if size > PAGE_BUDGET_BYTES}
    assert not heavy, f"pages over {PAGE_BUDGET_BYTES} bytes: {heavy}"
