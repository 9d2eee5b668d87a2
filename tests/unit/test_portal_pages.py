"""The portal's pages in-process, over a fake of the API: every page renders for every role in
both languages within its size budget, with 48 months of history; what the API says shows as
text; an API that does not answer, or no longer knows the token, is told plainly."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.portal.api import Answer, ApiUnavailableError, SignedOutError
from services.portal.app import create_app
from services.portal.charts import months_between
from services.portal.security import CsrfTokens
from services.portal.sessions import SessionStore
from services.portal.web import Portal
from shared.clock import parse_clock
from shared.domain.state import ReportKind
from shared.targets import load_targets

TARGETS = load_targets(None)
TOKENS = {
    "tok-jinan": {"name": "jinan-officer", "role": "city", "city": "jinan"},
    "tok-admin": {"name": "ops", "role": "admin", "city": None},
    "tok-viewer": {"name": "dash", "role": "viewer", "city": None},
}
MARKUP = "<script>alert(1)</script>"


def site_program(status: str = "behind") -> dict[str, Any]:
    return {"status": status, "attainment": 0.5, "actual": 100, "target": 6345,
            "planned_to_date": 200.0, "judged_as_of": "2026-01-31", "baseline_verified": False,
            "projection": "date", "projected_completion": "2027-03-01"}  # fmt: skip


def gigabit_program() -> dict[str, Any]:
    indicators = {
        i.key: {
            "value": 90.0,
            "as_of": "2024-12-31",
            "rule": str(i.rule),
            "threshold": i.threshold,
            "unit": i.unit,
            "verified": i.verified,
            "passing": True,
        }
        for program in TARGETS.gigabit_programs
        for i in program.indicators
    }
    return {"status": "met", "attainment": 1.0, "actual": 6, "target": 6,
            "judged_as_of": "2024-12-31", "indicators": indicators}  # fmt: skip


def city_view(city_id: str) -> dict[str, Any]:
    city = TARGETS.cities[city_id]
    overdue = {"overdue": True, "missing_since": "2025-12", "missing_months": 1}
    return {
        "city": city_id, "name": city.name, "name_en": city.name_en, "sites_in_service": 20000,
        "programs": {"5g-2025": site_program(), "5g-2027": site_program("on_track"),
                     "gigabit-2024": gigabit_program()},
        "reports": {"5g-sites": overdue, "gigabit": {"overdue": False}},
    }  # fmt: skip


class FakeApi:
    """The API as the portal sees it; ``failure`` makes every call raise it."""

    def __init__(self) -> None:
        self.failure: Exception | None = None
        self.submitted: list[tuple[str, dict[str, Any], bool]] = []

    def _check(self, token: str) -> None:
        if self.failure is not None:
            raise self.failure
        if token not in TOKENS:
            raise SignedOutError()

    async def me(self, token: str) -> dict[str, Any]:
        self._check(token)
        return TOKENS[token]

    async def progress(self, token: str) -> dict[str, Any]:
        self._check(token)
        province = {"5g-2025": site_program(), "5g-2027": site_program(),
                    "gigabit-2024": {"cities_meeting_standard": 3, "cities": 16}}  # fmt: skip
        return {"province": {"programs": province},
                "cities": {c: city_view(c) for c in TARGETS.cities}}  # fmt: skip

    async def city_progress(self, token: str, city: str) -> dict[str, Any]:
        self._check(token)
        return city_view(city)

    async def city_history(self, token: str, city: str, program: str) -> dict[str, Any]:
        self._check(token)
        rows = [
            {
                "month": month,
                "new": 10 * n,
                "planned": 12.5 * n,
                "attainment": 0.8,
                "status": "at_risk",
                "report": ("on_time", "late", "missing")[n % 3],
                "received_at": "2024-02-05T10:00:00+08:00",
            }
            for n, month in enumerate(months_between("2024-01", "2027-12"))
        ]
        return {"program": program, "rows": rows}

    async def alerts(self, token: str) -> list[dict[str, Any]]:
        self._check(token)
        labels = {"alertname": "FiveGBehindPlan", "severity": "critical", "program": "5g-2025",
                  "city": "jinan"}  # fmt: skip
        annotations = {"summary": MARKUP, "description": MARKUP}
        return [{"labels": labels, "annotations": annotations, "startsAt": "2026-01-11T00:00:00"}]

    async def reports(self, token: str, city: str, limit: int = 20) -> list[dict[str, Any]]:
        self._check(token)
        record = {"report_id": "jinan-5g-1", "city": city, "kind": "5g-sites",
                  "status": "rejected", "received_at": "2026-01-05T10:00:00+08:00",
                  "summary": {"created": 0, "updated": 0, "unchanged": 0},
                  "errors": [{"loc": ["body", "sites", 0, "site_id"], "code": "x",
                              "message": MARKUP}]}  # fmt: skip
        return [record]

    async def report(self, token: str, city: str, report_id: str) -> dict[str, Any] | None:
        return (await self.reports(token, city))[0]

    async def submit(
        self, token: str, city: str, kind: ReportKind, body: dict[str, Any], dry_run: bool
    ) -> Answer:
        self._check(token)
        self.submitted.append((city, body, dry_run))
        return Answer(200, {"status": "valid", "summary": {"created": len(body["sites"])}})

    async def ready(self) -> dict[str, str]:
        return {}

    async def aclose(self) -> None:
        pass


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


Client = httpx.AsyncClient


@pytest.fixture
async def client(api: FakeApi) -> AsyncIterator[Client]:
    portal = Portal(
        api=api,  # type: ignore[arg-type]
        sessions=SessionStore(3600),
        csrf=CsrfTokens(),
        targets=TARGETS,
        clock=parse_clock("fixed:2026-01-15T12:00:00+08:00"),
        max_upload_bytes=1024 * 1024,
    )
    transport = httpx.ASGITransport(app=create_app(portal))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
        yield http


async def csrf(client: Client, path: str = "/signin") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get(path)).text)
    assert match
    return match.group(1)


async def sign_in(client: Client, token: str) -> None:
    answer = await client.post("/signin", data={"csrf_token": await csrf(client), "token": token})
    assert answer.status_code == 303


async def switch_to_english(client: Client) -> None:
    form = {"csrf_token": await csrf(client, "/province"), "language": "en", "next": "/province"}
    assert (await client.post("/language", data=form)).status_code == 303


PAGES = ["/province", "/cities/jinan", "/cities/heze", "/cities/jinan/reports/jinan-5g-1"]


@pytest.mark.parametrize("english", [False, True])
@pytest.mark.parametrize("token", list(TOKENS))
async def test_every_page_renders_for_every_role_in_both_languages_within_150_kb(
    client: Client, token: str, english: bool
) -> None:
    await sign_in(client, token)
    if english:
        await switch_to_english(client)
    for path in PAGES:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert len(page.content) < 150 * 1024, (path, len(page.content))
        assert ('lang="en"' if english else 'lang="zh-CN"') in page.text
        assert MARKUP not in page.text  # the API's text is escaped wherever it shows
    chart = (await client.get("/cities/jinan")).text
    # 5g-2027's 48 months; 5g-2025's own 24 (a month outside a programme is not drawn)
    assert chart.count('class="actual-point"') == 48 + 24
    submit = await client.get("/submit")
    assert submit.status_code == (403 if token == "tok-viewer" else 200)


async def test_the_checked_file_is_dry_run_for_the_token_city_whatever_the_form_names(
    client: Client, api: FakeApi
) -> None:
    await sign_in(client, "tok-jinan")
    body = b"site_id,operator,status,commissioned_on,lat,lon\n"
    body += b"JN-1,china_mobile,in_service,2025-12-03,36.6,117.1\n"
    form = {"csrf_token": await csrf(client, "/submit"), "kind": "5g-sites", "city": "heze",
            "period": "2025-12", "as_of": "2025-12-31"}  # fmt: skip
    files = {"file": ("s.csv", body, "text/csv")}
    checked = await client.post("/submit", data=form, files=files)
    assert checked.status_code == 200
    [(city, sent, dry_run)] = api.submitted
    assert (city, dry_run, sent["sites"][0]["site_id"]) == ("jinan", True, "JN-1")
    assert 'action="/submit/send"' in checked.text


async def test_an_api_that_does_not_answer_is_said_so_in_chinese(
    client: Client, api: FakeApi
) -> None:
    await sign_in(client, "tok-admin")
    api.failure = ApiUnavailableError("ConnectError")
    page = await client.get("/province")
    assert page.status_code == 503 and "Pacer 接口暂时没有响应" in page.text


async def test_a_token_the_api_no_longer_knows_ends_the_session(
    client: Client, api: FakeApi
) -> None:
    await sign_in(client, "tok-admin")
    api.failure = SignedOutError()
    answer = await client.get("/province")
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
    api.failure = None
    assert (await client.get("/province")).headers["location"] == "/signin"


async def test_an_unknown_token_is_refused_and_never_echoed(client: Client) -> None:
    form = {"csrf_token": await csrf(client), "token": "guess-123"}
    answer = await client.post("/signin", data=form)
    assert answer.status_code == 401 and "guess-123" not in answer.text
    assert "Pacer 不认识这个令牌" in answer.text
