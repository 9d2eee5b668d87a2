"""The submit routes' lane (``IngestApp.front``, ``routes_reports.SubmitLane``) answers every
request exactly as the app's own layers do: the same status, headers and body, errors included
(each exception found its handler by class), against a real Redis. Only a report's own receipt
(its id, its time) differs between two submissions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from services.ingest.app import IngestApp, create_app
from services.ingest.auth import Principal, Role, TokenBook
from services.ingest.context import IngestContext
from shared.clock import parse_clock
from shared.store.connection import connect
from shared.store.reports import ReportStore
from shared.targets import load_targets
from tests.support.processes import RedisServer, free_port
from tests.support.reports import bearer, gigabit_report, site, sites_report

CITY_TOKEN = "c" * 32
VIEWER_TOKEN = "v" * 32
PATH = "/v1/cities/jinan/reports"


def ingest_app(client: Redis) -> IngestApp:
    tokens = TokenBook(
        {
            hashlib.sha256(CITY_TOKEN.encode()).hexdigest(): Principal("jn", Role.CITY, "jinan"),
            hashlib.sha256(VIEWER_TOKEN.encode()).hexdigest(): Principal("v", Role.VIEWER, None),
        }
    )
    ctx = IngestContext(
        targets=load_targets(None),
        clock=parse_clock("system"),
        tokens=tokens,
        store=ReportStore(client),
        redis=client,
    )
    app = create_app(ctx, 64 * 1024)
    assert isinstance(app, IngestApp) and app.front is not None
    for kind in ("gigabit", "5g-sites"):
        scope = {"type": "http", "method": "POST", "path": f"{PATH}/{kind}", "root_path": ""}
        assert app.front.lane_for(scope) is not None
    return app


@pytest.fixture
async def app(store: Redis, redis_server: RedisServer) -> AsyncIterator[IngestApp]:
    client = connect(redis_server.url)
    yield ingest_app(client)
    await client.aclose()


async def answer(app: IngestApp, lane: bool, method: str, url: str, **request: Any) -> Any:
    front = app.front
    if not lane:
        app.front = None  # every request through FastAPI's layers
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            response = await client.request(method, url, **request)
    finally:
        app.front = front
    return response.status_code, dict(response.headers), response.content


def city(**extra: Any) -> dict[str, Any]:
    return {"headers": bearer(CITY_TOKEN) | extra.pop("headers", {}), **extra}


REQUESTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "no token": ("POST", f"{PATH}/gigabit", {"json": gigabit_report({"bs_5g_per_10k": 20.0})}),
    "viewer may not write": (
        "POST",
        f"{PATH}/gigabit",
        {"headers": bearer(VIEWER_TOKEN), "json": gigabit_report({"bs_5g_per_10k": 20.0})},
    ),
    "unknown city": ("POST", "/v1/cities/atlantis/reports/gigabit", city(json={})),
    "not json": ("POST", f"{PATH}/gigabit", city(content=b"x", headers={"content-type": "x"})),
    "bad body": ("POST", f"{PATH}/5g-sites", city(json=sites_report(site("JN-1", lat=99)))),
    "bad dry_run": ("POST", f"{PATH}/gigabit?dry_run=maybe", city(json={})),
    "key mismatch": (
        "POST",
        f"{PATH}/gigabit",
        city(
            json=gigabit_report({"bs_5g_per_10k": 20.0}, report_id="a"),
            headers={"Idempotency-Key": "b"},
        ),
    ),
    "too large": ("POST", f"{PATH}/gigabit", city(content=b"{" + b" " * 70_000 + b"}")),
    "dry run": (
        "POST",
        f"{PATH}/5g-sites?dry_run=true",
        city(json=sites_report(site("JN-1"), period="2024-06", as_of="2024-06-30")),
    ),
    "GET is not a submit": ("GET", f"{PATH}/gigabit", city()),
    "trailing slash": ("POST", f"{PATH}/gigabit/", city(json={})),
}


@pytest.mark.parametrize("name", list(REQUESTS))
async def test_the_lane_answers_as_the_app_does(app: IngestApp, name: str) -> None:
    method, url, request = REQUESTS[name]
    through_app = await answer(app, False, method, url, **request)
    through_lane = await answer(app, True, method, url, **request)
    assert through_lane == through_app
    assert through_app[0] >= 200


async def test_a_report_is_accepted_and_repeated_alike(app: IngestApp) -> None:
    answers = []
    for lane, report_id in ((False, "by-app"), (True, "by-lane")):
        body = gigabit_report({"bs_5g_per_10k": 20.0}, period="2024-06", as_of="2024-06-30")
        request = city(json=body | {"report_id": report_id})
        first = await answer(app, lane, "POST", f"{PATH}/gigabit", **request)
        again = await answer(app, lane, "POST", f"{PATH}/gigabit", **request)
        answers.append((first, again))
    for (status, headers, content), (again_status, _, again_content) in answers:
        assert (status, again_status) == (202, 200)
        assert headers["location"].startswith(f"{PATH.replace('/reports', '')}/reports/by-")
        assert json.loads(again_content)["status"] == "duplicate"
        assert sorted(json.loads(content)) == ["received_at", "report_id", "status"]


async def test_redis_down_is_the_same_503_through_the_lane() -> None:
    client = connect(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5)  # nobody listens
    app = ingest_app(client)
    body = gigabit_report({"bs_5g_per_10k": 20.0}, period="2024-06", as_of="2024-06-30")
    request = city(json=body)
    through_app = await answer(app, False, "POST", f"{PATH}/gigabit", **request)
    through_lane = await answer(app, True, "POST", f"{PATH}/gigabit", **request)
    await client.aclose()
    assert through_lane == through_app
    assert through_app[0] == 503 and b"storage_unavailable" in through_app[2]
