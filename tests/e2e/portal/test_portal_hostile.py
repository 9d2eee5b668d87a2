"""The portal against people who mean harm, or make mistakes: markup in a file is shown as text,
a form posted without its CSRF token (or from another visitor's) is refused, cookies are beyond
scripts and other sites, no page runs or allows inline script, the token is never sent back or
written down, a viewer cannot submit, a city token submits for its own city only, and a file over
the upload limit is refused before it is read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from services.portal.security import CONTENT_SECURITY_POLICY
from tests.e2e.portal.conftest import MAX_UPLOAD_BYTES, Portal, Visit

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SCRIPT = "<script>alert(1)</script>"


class Browserless:
    """The portal through a plain HTTP client, signed in like a browser would be."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.http = httpx.Client(base_url=portal.url, timeout=15, follow_redirects=False)
        self.pages: list[httpx.Response] = []

    def get(self, path: str) -> httpx.Response:
        response = self.http.get(path)
        self.pages.append(response)
        return response

    def csrf(self, path: str = "/signin") -> str:
        match = CSRF.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, path: str, data: dict[str, str], **kwargs: object) -> httpx.Response:
        response = self.http.post(path, data=data, **kwargs)  # type: ignore[arg-type]
        self.pages.append(response)
        return response

    def sign_in(self, token_name: str) -> httpx.Response:
        token = self.portal.tokens[token_name]
        answer = self.post("/signin", {"csrf_token": self.csrf(), "token": token})
        assert answer.status_code == 303 and answer.headers["location"] == "/province"
        return answer

    def upload(self, content: bytes, name: str = "sites.csv", **fields: str) -> httpx.Response:
        form = {"csrf_token": self.csrf("/submit"), "kind": "5g-sites", "city": "jinan",
                "period": "2024-06", "as_of": "2024-06-30"} | fields  # fmt: skip
        return self.post("/submit", form, files={"file": (name, content, "text/csv")})


@pytest.fixture
def client(portal: Portal) -> Iterator[Browserless]:
    browserless = Browserless(portal)
    yield browserless
    browserless.http.close()


def sites_csv(district: str = "历下区", site_id: str = "JN-70001") -> bytes:
    header = "site_id,operator,status,commissioned_on,lat,lon,district,band\n"
    row = f'{site_id},china_mobile,in_service,2024-06-03,36.65,117.12,"{district}",n41\n'
    return (header + row).encode()


def test_markup_in_a_district_or_a_file_name_is_shown_as_text(
    visit: Visit, portal: Portal, tmp_path: Path
) -> None:
    page = visit.page
    visit.sign_in("jinan-officer")
    hostile = tmp_path / "<img src=x onerror=alert(2)>.csv"
    hostile.write_bytes(sites_csv(district=SCRIPT))
    page.goto(portal.url + "/submit")
    page.set_input_files("#file", str(hostile))
    page.click("form[action='/submit'] button[type=submit]")
    expect(page.locator("table.preview td", has_text=SCRIPT)).to_have_count(1)  # text, not a tag
    expect(page.locator("h1")).to_contain_text("<img src=x onerror=alert(2)>.csv")
    assert page.locator("main script, main img").count() == 0  # the visit fails on any dialog
    visit.shot("hostile-district")


def test_a_post_without_its_csrf_token_or_with_another_visitors_is_refused(
    client: Browserless, portal: Portal
) -> None:
    assert client.post("/signin", {"token": portal.tokens["admin"]}).status_code == 403
    client.sign_in("jinan-officer")
    for path, form in [
        ("/signout", {}),
        ("/language", {"language": "en"}),
        ("/submit", {"kind": "5g-sites", "period": "2024-06", "as_of": "2024-06-30"}),
        ("/submit/send", {"upload": "x"}),
    ]:
        assert client.post(path, form).status_code == 403, path
    stranger = Browserless(portal)
    try:
        theirs = stranger.csrf()  # valid, but for the stranger's cookie
    finally:
        stranger.http.close()
    assert client.post("/signout", {"csrf_token": theirs}).status_code == 403
    assert client.get("/province").status_code == 200  # still signed in


def test_cookies_are_http_only_and_same_site_strict_and_no_page_allows_inline_script(
    client: Browserless,
) -> None:
    first = client.get("/signin")
    signed_in = client.sign_in("jinan-officer")
    cookies = first.headers.get_list("set-cookie") + signed_in.headers.get_list("set-cookie")
    names = {cookie.split("=", 1)[0] for cookie in cookies}
    assert names == {"pacer_csrf", "pacer_session"}
    for cookie in cookies:
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/"} <= flags, cookie
    for path in ("/province", "/cities/jinan", "/submit", "/signin", "/nowhere"):
        page = client.get(path)
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src" not in CONTENT_SECURITY_POLICY  # default-src 'none' covers script
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        assert "<script" not in page.text and not re.search(r"\son\w+=", page.text), path
        assert " style=" not in page.text, path  # inline styles would be blocked by the CSP


def test_the_token_is_in_no_page_address_cookie_or_log_line(
    client: Browserless, visit: Visit, portal: Portal
) -> None:
    token = portal.tokens["jinan-officer"]
    client.sign_in("jinan-officer")
    for path in ("/province", "/cities/jinan", "/submit", "/templates/5g-sites.csv"):
        client.get(path)
    client.upload(sites_csv(site_id="JN-70002"))
    visit.sign_in("jinan-officer")
    visit.page.goto(portal.url + "/cities/jinan")
    for response in client.pages:
        assert token not in response.text, response.url
        assert token not in str(response.url)
        assert all(token not in value for value in response.headers.values())
    assert not [url for url in visit.requests if token in url]
    assert token not in visit.page.content()
    assert token not in portal.up.log()


def test_a_viewer_sees_no_submit_form_and_its_post_is_refused(client: Browserless) -> None:
    client.sign_in("viewer")
    province = client.get("/province")
    assert province.status_code == 200 and 'href="/submit"' not in province.text
    assert client.get("/submit").status_code == 403
    csrf = client.csrf("/province")
    form = {"csrf_token": csrf, "kind": "5g-sites", "city": "jinan",
            "period": "2024-06", "as_of": "2024-06-30"}  # fmt: skip
    refused = client.post("/submit", form, files={"file": ("s.csv", sites_csv(), "text/csv")})
    assert refused.status_code == 403
    assert client.post("/submit/send", {"csrf_token": csrf, "upload": "x"}).status_code == 403


def test_a_city_token_submits_for_its_own_city_only(client: Browserless) -> None:
    client.sign_in("jinan-officer")
    checked = client.upload(sites_csv(site_id="JN-70003"), city="qingdao")
    assert checked.status_code == 200
    assert "济南市" in checked.text and "青岛市" not in checked.text.split("<main", 1)[1]


def test_an_admin_chooses_the_city(client: Browserless) -> None:
    client.sign_in("admin")
    checked = client.upload(sites_csv(site_id="QD-70004"), city="qingdao")
    assert checked.status_code == 200 and "青岛市" in checked.text


def test_a_file_over_the_upload_limit_is_refused_before_it_is_read(client: Browserless) -> None:
    client.sign_in("jinan-officer")
    too_large = client.upload(b"x" * (MAX_UPLOAD_BYTES + 70 * 1024))
    assert too_large.status_code == 413
