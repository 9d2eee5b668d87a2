"""Per-token rate limits on a real ingest process: 429 with Retry-After and the error body."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from services.cli.api_client import PacerClient
from tests.conftest import ADMIN_TOKEN, CITY_TOKENS, VIEWER_TOKEN
from tests.support.processes import RedisServer, Service
from tests.support.reports import bearer

# A token refills every 4 s: each test's burst of a few requests ends long before one comes back,
# even on a loaded machine, so the counts below are exact.
TIGHT = {"PACER_RATE_LIMIT_RPS": "0.25", "PACER_RATE_LIMIT_BURST": "3"}
# One ingest for the module; each test spends the buckets of its own tokens.
OWN_TOKENS = {f"caller-{n}": f"tok-rate-{n}-9f3e" for n in range(1, 6)}


@pytest.fixture(scope="module")
def tight_ingest(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("rate-limits")
    more = [
        f"  - {{name: {name}, sha256: {hashlib.sha256(token.encode()).hexdigest()}, role: viewer}}"
        for name, token in OWN_TOKENS.items()
    ]
    tokens = directory / "tokens.yaml"
    tokens.write_text(tokens_file.read_text() + "\n".join(more) + "\n")
    env = {
        "PACER_REDIS_URL": redis_server.url,
        "PACER_TOKENS_FILE": str(tokens),
        "PACER_CLOCK": "fixed:2024-07-15T12:00:00+08:00",
    } | TIGHT
    service = Service("ingest", env, directory / "ingest.log")
    try:
        yield service.start()
    finally:
        service.stop()


def test_a_token_over_its_burst_gets_429_with_retry_after_and_the_error_body(
    tight_ingest: Service,
) -> None:
    with httpx.Client(base_url=tight_ingest.url, headers=bearer(OWN_TOKENS["caller-1"])) as api:
        statuses = [api.get("/v1/progress").status_code for _ in range(3)]
        throttled = api.get("/v1/cities/jinan/progress")
    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    retry_after = throttled.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    [error] = throttled.json()["errors"]
    assert error["code"] == "rate_limited" and error["loc"] == []
    assert f"retry after {retry_after} s" in error["message"]


def test_one_token_being_throttled_leaves_the_other_tokens_alone(tight_ingest: Service) -> None:
    with httpx.Client(base_url=tight_ingest.url) as api:
        for _ in range(4):
            api.get("/v1/progress", headers=bearer(OWN_TOKENS["caller-2"]))
        assert api.get("/v1/progress", headers=bearer(OWN_TOKENS["caller-2"])).status_code == 429
        for token in (CITY_TOKENS["jinan"], CITY_TOKENS["qingdao"], VIEWER_TOKEN):
            assert api.get("/v1/progress", headers=bearer(token)).status_code == 200


def test_after_waiting_retry_after_the_token_is_served_again(tight_ingest: Service) -> None:
    client = PacerClient(tight_ingest.url, OWN_TOKENS["caller-3"])
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    client.sleep = sleep
    try:
        answers = [client.request("GET", "/v1/progress").status_code for _ in range(5)]
    finally:
        client.close()
    # The CLI client waited as told (whole seconds from Retry-After), never saw a 429.
    assert answers == [200] * 5
    assert waits and all(wait >= 1.0 and wait == int(wait) for wait in waits)


def test_health_readiness_and_metrics_are_never_limited_and_429s_are_counted(
    tight_ingest: Service,
) -> None:
    with httpx.Client(base_url=tight_ingest.url) as api:
        for path in ("/healthz", "/readyz", "/metrics"):
            assert {api.get(path).status_code for _ in range(10)} == {200}
        for _ in range(5):
            api.get("/v1/alerts", headers=bearer(OWN_TOKENS["caller-4"]))
        metrics = api.get("/metrics").text
    assert 'pacer_http_rate_limited_requests_total{caller="caller-4"} 2.0' in metrics


def test_requests_without_a_valid_token_are_limited_per_client_address(
    tight_ingest: Service,
) -> None:
    with httpx.Client(base_url=tight_ingest.url) as api:
        # Each guess claims another client address: no proxy is trusted (PACER_TRUSTED_PROXIES
        # is empty), so from 127.0.0.1 too the claim changes nothing (uvicorn's default once
        # believed it, and each guess got a fresh bucket).
        guesses = [
            api.get(
                "/v1/progress",
                headers=bearer(f"guess-{i}") | {"X-Forwarded-For": f"198.51.100.{i}"},
            ).status_code
            for i in range(5)
        ]
        anonymous = api.get("/v1/progress").status_code
        # A valid token from the same address has its own bucket.
        assert api.get("/v1/progress", headers=bearer(OWN_TOKENS["caller-5"])).status_code == 200
        metrics = api.get("/metrics").text
    assert guesses == [401, 401, 401, 429, 429] and anonymous == 429
    assert 'pacer_http_rate_limited_requests_total{caller="unauthenticated"} 3.0' in metrics


def test_the_defaults_let_a_whole_province_submission_with_status_polling_through(
    redis_client: redis.Redis,
    service_env: dict[str, str],
    make_service: Callable[..., Service],
) -> None:
    """``pacer submit`` of a province: 27+ reports back to back (a dry run and a POST each), then
    polling each one's status; a dashboard polls meanwhile. 300 requests at once, one token."""
    ingest = make_service("ingest", service_env)
    with httpx.Client(base_url=ingest.url, headers=bearer(ADMIN_TOKEN), timeout=10) as api:
        # Status polls of reports not applied yet: the cheapest authenticated request.
        statuses = {api.get(f"/v1/reports/r-{n}").status_code for n in range(300)}
    assert statuses == {404}


def test_only_a_listed_proxy_says_who_the_client_is(
    tokens_file: Path, redis_server: RedisServer, make_service: Callable[..., Service]
) -> None:
    """PACER_TRUSTED_PROXIES=127.0.0.2: X-Forwarded-For from 127.0.0.2 names the client (each
    client its own bucket); from 127.0.0.1, a peer not listed, it is ignored."""
    env = {
        "PACER_REDIS_URL": redis_server.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_TRUSTED_PROXIES": "127.0.0.2",
    } | TIGHT
    ingest = make_service("ingest", env)

    def anonymous_statuses(source: str, clients: list[str]) -> list[int]:
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(base_url=ingest.url, transport=transport) as api:
            return [
                api.get("/v1/progress", headers={"X-Forwarded-For": client}).status_code
                for client in clients
            ]

    five_clients = [f"203.0.113.{i}" for i in range(5)]
    assert anonymous_statuses("127.0.0.2", five_clients) == [401] * 5
    assert anonymous_statuses("127.0.0.2", ["192.0.2.7"] * 5) == [401, 401, 401, 429, 429]
    assert anonymous_statuses("127.0.0.1", five_clients) == [401, 401, 401, 429, 429]
