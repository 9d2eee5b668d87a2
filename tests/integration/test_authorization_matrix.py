"""Who may call what: every route of the ingest app x every kind of caller -> the status the
contract (section 3) promises, on a real ingest process and Redis.

The rows are checked against the app's own routes: a new endpoint without a row fails here.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from redis.asyncio import Redis
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from services.ingest.app import create_app
from services.ingest.auth import TokenBook
from services.ingest.context import IngestContext
from shared import names
from shared.clock import parse_clock
from shared.store.reports import ReportStore
from shared.targets import load_targets
from tests.conftest import ADMIN_TOKEN, CITY_TOKENS, VIEWER_TOKEN
from tests.support import sites as stored_sites
from tests.support.processes import RedisServer, Service, ingest_running
from tests.support.reports import bearer

CALLERS: dict[str, dict[str, str]] = {
    "no token": {},
    "unknown token": bearer("tok-nobody-0000"),
    "city, own city": bearer(CITY_TOKENS["jinan"]),  # every path below names jinan
    "city, other city": bearer(CITY_TOKENS["qingdao"]),
    "viewer": bearer(VIEWER_TOKEN),
    "admin": bearer(ADMIN_TOKEN),
}
ADMIN = CALLERS["admin"]

Send = Callable[[httpx.Client, dict[str, str]], httpx.Response]


def _report_id() -> str:
    return f"matrix-{uuid.uuid4().hex[:12]}"


def _submit_gigabit(api: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    body = {
        "report_id": _report_id(),
        "period": "2024-06",
        "as_of": "2024-06-30",
        "indicators": {"household_gigabit_coverage_pct": 95.0},
    }
    return api.post("/v1/cities/jinan/reports/gigabit", json=body, headers=headers)


def _submit_sites(api: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    body = {"report_id": _report_id(), "period": "2024-06", "as_of": "2024-06-30", "sites": []}
    return api.post("/v1/cities/jinan/reports/5g-sites", json=body, headers=headers)


def _read_report(path: str) -> Send:
    """Reads a report of jinan's (submitted first) at ``path``, its id in place of ``{id}``."""

    def send(api: httpx.Client, headers: dict[str, str]) -> httpx.Response:
        submitted = _submit_sites(api, ADMIN)
        assert submitted.status_code == 202, submitted.text
        return api.get(path.format(id=submitted.json()["report_id"]), headers=headers)

    return send


MATRIX_SITE = "MATRIX-SITE-1"


def _register_matrix_site(redis_client: redis.Redis) -> None:
    """As the aggregator registers an applied site (the matrix runs no aggregator)."""
    stored_sites.register_ids(redis_client, "jinan", MATRIX_SITE, commissioned_on="2024-06-01")


def _subscription(api: httpx.Client) -> str:
    body = {"url": "https://hooks.example.test/pacer", "secret": "matrix-secret-0123456789"}
    created = api.post("/v1/subscriptions", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _get(path: str) -> Send:
    return lambda api, headers: api.get(path, headers=headers)


@dataclass(frozen=True)
class Row:
    send: Send
    expected: dict[str, int]
    prepare: Callable[[redis.Redis], None] | None = None
    """Sets up the store before the call (what the route needs that the API cannot make)."""


def _statuses(
    none: int, unknown: int, own: int, other: int, viewer: int, admin: int
) -> dict[str, int]:
    return dict(zip(CALLERS, (none, unknown, own, other, viewer, admin), strict=True))


WRITE = _statuses(401, 401, 202, 403, 403, 202)
"""A city writes its own city only; an admin anything; a viewer nothing."""
READ = _statuses(401, 401, 200, 200, 200, 200)
"""Any valid token reads."""
READ_BY_ID_ALONE = _statuses(401, 401, 200, 404, 200, 200)
"""``/v1/reports/{id}``: a city token reads its own city's report there; another city's id is
as unknown to it as an id nobody used (it reads that report at the city's path)."""
PUBLIC = _statuses(200, 200, 200, 200, 200, 200)
"""Probes, scrapes and the API's documentation need no token."""


def _admin_only(status: int) -> dict[str, int]:
    return _statuses(401, 401, 403, 403, 403, status)


MATRIX: dict[tuple[str, str], Row] = {
    ("POST", "/v1/cities/{city}/reports/gigabit"): Row(_submit_gigabit, WRITE),
    ("POST", "/v1/cities/{city}/reports/5g-sites"): Row(_submit_sites, WRITE),
    ("GET", "/v1/reports/{report_id}"): Row(_read_report("/v1/reports/{id}"), READ_BY_ID_ALONE),
    ("GET", "/v1/cities/{city}/reports/{report_id}"): Row(
        _read_report("/v1/cities/jinan/reports/{id}"), READ
    ),
    ("GET", "/v1/cities/{city}/reports"): Row(_get("/v1/cities/jinan/reports"), READ),
    ("POST", "/v1/sites/{site_id}/release"): Row(
        lambda api, headers: api.post(f"/v1/sites/{MATRIX_SITE}/release", headers=headers),
        _admin_only(200),
        prepare=_register_matrix_site,
    ),
    ("GET", "/v1/progress"): Row(_get("/v1/progress"), READ),
    ("GET", "/v1/cities/{city}/progress"): Row(_get("/v1/cities/jinan/progress"), READ),
    ("GET", "/v1/cities/{city}/history"): Row(
        _get("/v1/cities/jinan/history?program=5g-2025"), READ
    ),
    ("GET", "/v1/history"): Row(_get("/v1/history?program=5g-2025"), READ),
    ("GET", "/v1/export.csv"): Row(_get("/v1/export.csv?month=2024-06"), READ),
    ("GET", "/v1/alerts"): Row(_get("/v1/alerts"), READ),
    ("GET", "/v1/me"): Row(_get("/v1/me"), READ),
    ("POST", "/v1/subscriptions"): Row(
        lambda api, headers: api.post(
            "/v1/subscriptions",
            json={"url": "https://hooks.example.test/x", "secret": "matrix-secret-0123456789"},
            headers=headers,
        ),
        _admin_only(201),
    ),
    ("GET", "/v1/subscriptions"): Row(_get("/v1/subscriptions"), _admin_only(200)),
    ("DELETE", "/v1/subscriptions/{subscription_id}"): Row(
        lambda api, headers: api.delete(f"/v1/subscriptions/{_subscription(api)}", headers=headers),
        _admin_only(204),
    ),
    ("GET", "/v1/subscriptions/{subscription_id}/deliveries"): Row(
        lambda api, headers: api.get(
            f"/v1/subscriptions/{_subscription(api)}/deliveries", headers=headers
        ),
        _admin_only(200),
    ),
    ("GET", "/healthz"): Row(_get("/healthz"), PUBLIC),
    ("GET", "/readyz"): Row(_get("/readyz"), PUBLIC),
    ("GET", "/metrics"): Row(_get("/metrics"), PUBLIC),
    ("GET", "/openapi.json"): Row(_get("/openapi.json"), PUBLIC),
    ("GET", "/docs"): Row(_get("/docs"), PUBLIC),
    # Swagger UI's files, served from a package by a static mount (no CDN): public like /docs.
    ("GET", "/docs/assets/{path}"): Row(_get("/docs/assets/swagger-ui.css"), PUBLIC),
}


def _flatten(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path template) of every route, through included routers; HEAD goes with GET."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            found |= _flatten(included.routes, prefix + getattr(context, "prefix", ""))
            continue
        if isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            found.add(("GET", prefix + route.path + "/{path}"))  # files: GET (and HEAD) only
            continue
        assert hasattr(route, "path") and hasattr(route, "methods"), f"unknown route {route!r}"
        found |= {(m, prefix + route.path) for m in route.methods if m != "HEAD"}
    return found


def test_every_route_of_the_app_has_a_row_in_the_matrix() -> None:
    client = Redis()  # never connected: building the app touches no Redis
    ctx = IngestContext(
        targets=load_targets(None),
        clock=parse_clock("system"),
        tokens=TokenBook({}),
        store=ReportStore(client),
        redis=client,
    )
    routes = _flatten(create_app(ctx, 1024).routes)
    assert routes == set(MATRIX), (
        f"routes without a row: {sorted(routes - set(MATRIX))}; "
        f"rows without a route: {sorted(set(MATRIX) - routes)}"
    )


@pytest.fixture(scope="module")
def ingest(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with ingest_running(redis_server.url, tokens_file, tmp_path_factory.mktemp("logs")) as service:
        yield service


@pytest.fixture(scope="module")
def api(ingest: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest.url, timeout=10) as client:
        yield client


@pytest.mark.parametrize(
    ("route", "caller"),
    list(itertools.product(MATRIX, CALLERS)),
    ids=[f"{m} {p} as {c}" for (m, p), c in itertools.product(MATRIX, CALLERS)],
)
def test_each_caller_gets_the_contracts_status_on_each_route(
    api: httpx.Client, redis_client: redis.Redis, route: tuple[str, str], caller: str
) -> None:
    row = MATRIX[route]
    if row.prepare is not None:
        row.prepare(redis_client)
    response = row.send(api, CALLERS[caller])
    assert response.status_code == row.expected[caller], response.text[:500]
    if response.status_code in (401, 403):
        [error] = response.json()["errors"]
        assert error["code"] == {401: "unauthenticated", 403: "forbidden"}[response.status_code]
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"
    if response.status_code in (401, 403):
        assert_refused_left_no_trace(route, redis_client)


def assert_refused_left_no_trace(route: tuple[str, str], redis_client: redis.Redis) -> None:
    """A refused write changed nothing: only what the row's own set-up made is there."""
    method, path = route
    if method == "POST" and "/reports/" in path:
        assert not redis_client.keys(names.report_key("*", "*"))
    if path.startswith("/v1/sites/"):
        assert stored_sites.owner(redis_client, MATRIX_SITE) == "jinan"
        assert redis_client.hlen(names.city_site_days_key("jinan")) == 1
    if path.startswith("/v1/subscriptions"):
        made_by_set_up = 1 if "{subscription_id}" in path else 0
        assert redis_client.hlen(names.SUBSCRIPTIONS_KEY) == made_by_set_up
