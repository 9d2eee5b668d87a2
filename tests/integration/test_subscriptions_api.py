"""The subscriptions API of a real ingest process against a real redis-server (contract §3)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from services.alerting.delivery import fan_out
from shared import names
from shared.domain.alert_lifecycle import ActiveAlert, Event, Notification
from shared.domain.alerts import Alert
from shared.settings import Settings
from shared.store.connection import connect
from shared.store.groups import ensure_groups
from shared.wire_alerts import (
    SubscriptionCreated,
    decode_alerts_entry,
    encode_active,
    group_entry_fields,
)
from tests.conftest import ADMIN_TOKEN, CITY_TOKENS, VIEWER_TOKEN
from tests.support.processes import RedisServer, Service, ingest_running
from tests.support.reports import bearer

ADMIN = bearer(ADMIN_TOKEN)
VIEWER = bearer(VIEWER_TOKEN)
JINAN = bearer(CITY_TOKENS["jinan"])
SECRET = "whsec-do-not-leak-4f9a1c"
STARTED = datetime(2024, 7, 11, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ingest(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    with ingest_running(redis_server.url, tokens_file, tmp_path_factory.mktemp("logs")) as service:
        yield service


@pytest.fixture
def api(ingest: Service, redis_client: redis.Redis) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest.url, timeout=10) as client:
        yield client


def subscription_body(**overrides: Any) -> dict[str, Any]:
    return {"url": "https://hooks.example.test/pacer", "secret": SECRET} | overrides


def create(api: httpx.Client, **overrides: Any) -> httpx.Response:
    return api.post("/v1/subscriptions", json=subscription_body(**overrides), headers=ADMIN)


def errors_of(response: httpx.Response) -> list[tuple[list[Any], str]]:
    return [(e["loc"], e["code"]) for e in response.json()["errors"]]


# Create, list, delete ---------------------------------------------------------------------------


def test_an_admin_creates_lists_and_deletes_a_subscription_and_never_sees_its_secret(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    created = create(
        api,
        filters={"cities": ["jinan", "qingdao"], "severities": ["critical"]},
        send_resolved=False,
    )
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert subscription["id"].startswith("sub_")
    assert created.headers["Location"] == f"/v1/subscriptions/{subscription['id']}"
    assert subscription["url"] == "https://hooks.example.test/pacer"
    assert subscription["filters"] == {
        "cities": ["jinan", "qingdao"],
        "programs": None,
        "severities": ["critical"],
    }
    assert subscription["send_resolved"] is False
    assert subscription["created_at"]
    assert "secret" not in subscription
    other = create(api).json()
    assert other["id"] != subscription["id"]
    assert other["send_resolved"] is True

    listed = api.get("/v1/subscriptions", headers=ADMIN)
    assert listed.status_code == 200
    assert listed.json() == {"subscriptions": [subscription, other]} or listed.json() == {
        "subscriptions": [other, subscription]
    }
    assert SECRET not in created.text + listed.text
    # Stored with its secret: the delivery worker signs with it.
    assert SECRET in str(redis_client.hget(names.SUBSCRIPTIONS_KEY, subscription["id"]))

    deleted = api.delete(f"/v1/subscriptions/{subscription['id']}", headers=ADMIN)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert api.get("/v1/subscriptions", headers=ADMIN).json() == {"subscriptions": [other]}
    again = api.delete(f"/v1/subscriptions/{subscription['id']}", headers=ADMIN)
    assert again.status_code == 404
    assert errors_of(again) == [(["path", "subscription_id"], "unknown_subscription")]


def test_credentials_and_query_of_a_url_are_masked_wherever_the_api_shows_it(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    url = "https://hook-user:hook-pass@hooks.example.test/pacer?token=t0k3n"
    created = create(api, url=url)
    assert created.status_code == 201, created.text
    shown = "https://***@hooks.example.test/pacer?***"
    assert created.json()["url"] == shown
    listed = api.get("/v1/subscriptions", headers=ADMIN).json()["subscriptions"]
    assert [s["url"] for s in listed] == [shown]
    for answer in (created.text, api.get("/v1/subscriptions", headers=ADMIN).text):
        assert "hook-pass" not in answer and "t0k3n" not in answer
    # Deliveries go to the whole URL: it is stored as given.
    [stored] = redis_client.hvals(names.SUBSCRIPTIONS_KEY)  # type: ignore[misc]
    assert json.loads(stored)["url"] == url


def test_the_secret_never_reaches_the_log(api: httpx.Client, ingest: Service) -> None:
    assert create(api).status_code == 201
    assert create(api, url="ftp://files.example.test/").status_code == 422
    assert create(api, bogus=1).status_code == 422
    assert SECRET not in ingest.log_path.read_text(errors="replace")


def test_deleting_an_unknown_subscription_is_404(api: httpx.Client) -> None:
    response = api.delete("/v1/subscriptions/sub_nope", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "unknown_subscription"
    deliveries = api.get("/v1/subscriptions/sub_nope/deliveries", headers=ADMIN)
    assert deliveries.status_code == 404


# Who may ---------------------------------------------------------------------------------------

REQUESTS = [
    ("POST", "/v1/subscriptions"),
    ("GET", "/v1/subscriptions"),
    ("DELETE", "/v1/subscriptions/sub_x"),
    ("GET", "/v1/subscriptions/sub_x/deliveries"),
]


@pytest.mark.parametrize(("method", "path"), REQUESTS)
@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        (VIEWER, 403, "forbidden"),
        (JINAN, 403, "forbidden"),
        ({}, 401, "unauthenticated"),
        (bearer("not-a-token"), 401, "unauthenticated"),
    ],
    ids=["viewer", "city", "no token", "unknown token"],
)
def test_only_admins_manage_subscriptions(
    api: httpx.Client,
    redis_client: redis.Redis,
    method: str,
    path: str,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    body = subscription_body() if method == "POST" else None
    response = api.request(method, path, json=body, headers=headers)
    assert response.status_code == status
    assert response.json()["errors"][0]["code"] == code
    assert not redis_client.exists(names.SUBSCRIPTIONS_KEY)


# Validation ------------------------------------------------------------------------------------

INVALID = [
    ("ftp url", subscription_body(url="ftp://files.example.test/x"), ["body", "url"], "url_scheme"),
    ("file url", subscription_body(url="file:///etc/passwd"), ["body", "url"], "url_scheme"),
    ("not a url", subscription_body(url="hooks"), ["body", "url"], "url_parsing"),
    (
        "unknown city",
        subscription_body(filters={"cities": ["jinan", "atlantis"]}),
        ["body", "filters", "cities", 1],
        "unknown_city",
    ),
    (
        "a retired city",
        subscription_body(filters={"cities": ["laiwu"]}),
        ["body", "filters", "cities", 0],
        "unknown_city",
    ),
    (
        "unknown program",
        subscription_body(filters={"programs": ["6g-2030"]}),
        ["body", "filters", "programs", 0],
        "unknown_program",
    ),
    (
        "unknown severity",
        subscription_body(filters={"severities": ["page"]}),  # info, warning, critical are
        ["body", "filters", "severities", 0],
        "enum",
    ),
    ("unknown field", subscription_body(events=["firing"]), ["body", "events"], "extra_forbidden"),
    (
        "unknown filter",
        subscription_body(filters={"regions": ["east"]}),
        ["body", "filters", "regions"],
        "extra_forbidden",
    ),
    ("missing secret", {"url": "https://hooks.example.test/"}, ["body", "secret"], "missing"),
    ("short secret", subscription_body(secret="short"), ["body", "secret"], "string_too_short"),
    # Once a plain-text 500: the resolver's IDNA codec refused these names (issue 11).
    ("an empty label", subscription_body(url="http://a..b/"), ["body", "url"], "invalid_host"),
    (
        "a 64-letter label",
        subscription_body(url=f"https://{'a' * 64}.example/hook"),
        ["body", "url"],
        "invalid_host",
    ),
    (
        "a right-to-left override in a city filter",
        subscription_body(filters={"cities": ["jinan", "\u202enanij"]}),
        ["body", "filters", "cities", 1],
        "forbidden_character",
    ),
    (
        "a newline in the secret",
        subscription_body(secret=SECRET + "\n"),
        ["body", "secret"],
        "forbidden_character",
    ),
    (
        "65 city filters",
        subscription_body(filters={"cities": ["jinan"] * 65}),
        ["body", "filters", "cities"],
        "too_long",
    ),
]


@pytest.mark.parametrize(
    ("body", "loc", "code"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_an_invalid_subscription_is_422_with_its_loc_and_nothing_stored(
    api: httpx.Client, redis_client: redis.Redis, body: dict[str, Any], loc: list[Any], code: str
) -> None:
    response = api.post("/v1/subscriptions", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert (loc, code) in errors_of(response)
    assert all(e["message"] for e in response.json()["errors"])
    assert not redis_client.exists(names.SUBSCRIPTIONS_KEY)


def test_a_url_given_twice_is_422_at_the_repeated_key_and_nothing_stored(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    # Which of the two would a parser keep? pydantic the last, others the first: refuse both.
    body = (
        f'{{"url": "https://hooks.example.test/a", "secret": "{SECRET}", '
        '"url": "https://hooks.example.test/b"}'
    )
    response = api.post(
        "/v1/subscriptions", content=body, headers=ADMIN | {"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert errors_of(response) == [(["body", "url"], "duplicate_key")]
    assert not redis_client.exists(names.SUBSCRIPTIONS_KEY)


def test_a_non_json_body_is_415_and_malformed_json_422(api: httpx.Client) -> None:
    form = api.post(
        "/v1/subscriptions",
        content="url=https://x.test/",
        headers=ADMIN | {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    assert errors_of(form) == [(["header", "Content-Type"], "unsupported_media_type")]
    broken = api.post(
        "/v1/subscriptions", content="{nope", headers=ADMIN | {"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["code"] == "json_invalid"


# Deliveries ------------------------------------------------------------------------------------


def test_a_created_subscription_is_announced_with_the_alerts_active_then(
    api: httpx.Client, redis_client: redis.Redis
) -> None:
    """The alerting service's fan-out turns the entry into the first deliveries (the ingest
    writes no delivery itself); the subscription hears of later entries only."""
    record = ActiveAlert(overdue("jinan"), STARTED, STARTED)
    redis_client.hset(names.ACTIVE_ALERTS_KEY, record.alert.fingerprint, encode_active(record))
    redis_client.set(names.ALERTS_STATE_FORMAT_KEY, "2")
    subscription = create(api).json()

    [(entry_id, fields)] = redis_client.xrange(names.ALERTS_STREAM)  # type: ignore[misc]
    assert decode_alerts_entry(fields) == SubscriptionCreated(
        subscription["id"], {record.alert.fingerprint: record}, "2"
    )
    assert redis_client.hget(names.SUBSCRIPTION_ALERTS_FROM_KEY, subscription["id"]) == entry_id
    assert redis_client.zcard(names.DELIVERIES_DUE_KEY) == 0
    assert api.delete(f"/v1/subscriptions/{subscription['id']}", headers=ADMIN).status_code == 204
    assert redis_client.hlen(names.SUBSCRIPTION_ALERTS_FROM_KEY) == 0


def overdue(city: str, kind: str = "gigabit") -> Alert:
    return Alert(
        labels={"alertname": "ReportOverdue", "severity": "warning", "city": city, "kind": kind},
        annotations={
            "summary": f"{city} has not reported",
            "description": "due 2024/07/10 (7月10日)",
        },
    )


async def _fan_out_one(redis_url: str, *cities: str) -> list[str]:
    """What the alerting service does with one group's notifications; the alerts' fingerprints."""
    client = connect(redis_url)
    try:
        await ensure_groups(client)
        at = Settings().make_clock().now()
        alerts = [overdue(city) for city in cities]
        fields = group_entry_fields([Notification(Event.FIRING, a, at, None, at) for a in alerts])
        entry_id = str(await client.xadd(names.ALERTS_STREAM, fields))  # type: ignore[arg-type]
        assert await fan_out(client, entry_id, fields, Settings()) == 1
        return [alert.fingerprint for alert in alerts]
    finally:
        await client.aclose()


def test_the_deliveries_listing_shows_each_notification_newest_first(
    api: httpx.Client, redis_server: RedisServer
) -> None:
    subscription = create(api).json()
    empty = api.get(f"/v1/subscriptions/{subscription['id']}/deliveries", headers=ADMIN)
    assert empty.status_code == 200
    assert empty.json() == {"deliveries": []}
    first = asyncio.run(_fan_out_one(redis_server.url, "jinan"))
    second = asyncio.run(_fan_out_one(redis_server.url, "heze", "binzhou"))

    response = api.get(f"/v1/subscriptions/{subscription['id']}/deliveries", headers=ADMIN)
    assert response.status_code == 200
    newest, oldest = response.json()["deliveries"]
    assert set(newest) == {
        "id",
        "subscription_id",
        "reason",
        "event",
        "group",
        "alerts",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    }
    assert newest["subscription_id"] == subscription["id"]
    assert newest["reason"] == "notified"
    assert newest["event"] == "firing"
    assert newest["group"] == {"alertname": "ReportOverdue"}
    assert newest["alerts"] == [
        {
            "event": "firing",
            "fingerprint": fingerprint,
            "alertname": "ReportOverdue",
            "labels": overdue(city).labels,
        }
        for fingerprint, city in zip(second, ["heze", "binzhou"], strict=True)
    ]
    assert newest["status"] == "pending"
    assert newest["attempts"] == []
    assert newest["next_attempt_at"] and newest["created_at"]
    assert newest["id"] != oldest["id"]
    assert [a["fingerprint"] for a in oldest["alerts"]] == first
    assert SECRET not in response.text
    limited = api.get(
        f"/v1/subscriptions/{subscription['id']}/deliveries", params={"limit": 1}, headers=ADMIN
    )
    assert limited.json()["deliveries"] == [newest]
