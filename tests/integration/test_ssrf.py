"""Webhooks never reach Pacer's own network unless allowed: refused when subscribing (a real
ingest process) and again right before each delivery (the delivery worker on a real Redis, real
receivers on loopback)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from shared.store.deliveries import Deliveries
from shared.store.subscriptions import SubscriptionStore
from shared.wire_alerts import Subscription
from shared.wire_deliveries import DeliveryRecord
from tests.conftest import ADMIN_TOKEN
from tests.integration.test_delivery import (
    STARTS_AT,
    alert_notification,
    delivery_settings,
    eventually,
    notify,
    outcomes,
    running_worker,
)
from tests.support.processes import RedisServer, Service
from tests.support.reports import bearer
from tests.support.webhooks import WebhookReceiver

ADMIN = bearer(ADMIN_TOKEN)
SECRET = "whsec-ssrf-test-0123456789"

INTERNAL_URLS = [
    "http://127.0.0.1:9/hook",
    "http://localhost/hook",  # a name resolving to loopback
    "http://[::1]/hook",
    "http://10.1.2.3/hook",
    "http://172.16.5.4/hook",
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://100.64.0.1/hook",  # carrier-grade NAT
    "http://[fd00::1]/hook",  # unique local
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "http://[::ffff:10.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://[::]/hook",
    "http://224.0.0.1/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one decimal number
    "http://0x7f.1/hook",
]


def ingest_env(redis_server: RedisServer, tokens_file: Path, **extra: str) -> dict[str, str]:
    return {
        "PACER_REDIS_URL": redis_server.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": "fixed:2024-07-15T12:00:00+08:00",
    } | extra


@pytest.fixture(scope="module")
def strict_ingest(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """An ingest with the default policy: no internal destination allowed."""
    env = ingest_env(redis_server, tokens_file)
    service = Service("ingest", env, tmp_path_factory.mktemp("logs") / "strict.log")
    try:
        yield service.start()
    finally:
        service.stop()


@pytest.fixture(scope="module")
def lenient_ingest(
    redis_server: RedisServer, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    env = ingest_env(redis_server, tokens_file, PACER_WEBHOOK_ALLOWED_HOSTS="127.0.0.1, 10.0.0.0/8")
    service = Service("ingest", env, tmp_path_factory.mktemp("logs") / "lenient.log")
    try:
        yield service.start()
    finally:
        service.stop()


def subscribe_via_api(service: Service, url: str) -> httpx.Response:
    return httpx.post(
        f"{service.url}/v1/subscriptions",
        json={"url": url, "secret": SECRET},
        headers=ADMIN,
        timeout=10,
    )


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_subscribing_an_internal_url_is_refused_with_422_at_the_url_field(
    strict_ingest: Service, redis_client: redis.Redis, url: str
) -> None:
    response = subscribe_via_api(strict_ingest, url)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "url"]
    assert error["code"] == "url_not_allowed"
    assert "PACER_WEBHOOK_ALLOWED_HOSTS" in error["message"]
    listed = httpx.get(f"{strict_ingest.url}/v1/subscriptions", headers=ADMIN).json()
    assert listed == {"subscriptions": []}


def test_a_public_address_is_subscribed(strict_ingest: Service, redis_client: redis.Redis) -> None:
    assert subscribe_via_api(strict_ingest, "https://93.184.215.14/hook").status_code == 201


def test_the_allow_list_admits_exactly_the_hosts_and_networks_it_names(
    lenient_ingest: Service, redis_client: redis.Redis
) -> None:
    assert subscribe_via_api(lenient_ingest, "http://127.0.0.1:8080/hook").status_code == 201
    assert subscribe_via_api(lenient_ingest, "http://10.20.30.40/hook").status_code == 201
    for url in ("http://192.168.1.1/hook", "http://169.254.169.254/", "http://[::1]/hook"):
        assert subscribe_via_api(lenient_ingest, url).status_code == 422, url


# At delivery time -------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as started:
        yield started


async def stored_subscription(store: Redis, url: str) -> Subscription:
    """As if subscribed while the name pointed elsewhere (or before the policy existed)."""
    subscription = Subscription(id="sub_ssrf", url=url, secret=SECRET, created_at=STARTS_AT)
    await SubscriptionStore(store).create(subscription)
    return subscription


async def the_delivery(store: Redis) -> DeliveryRecord:
    [record] = await Deliveries(store).recent("sub_ssrf")
    return record


async def finished(store: Redis) -> bool:
    found = await Deliveries(store).recent("sub_ssrf")
    return bool(found) and found[0].status != "pending"


@pytest.mark.parametrize(
    ("host", "named"), [("127.0.0.1", "127.0.0.1 is 127.0.0.1"), ("localhost", "localhost is")]
)
async def test_a_delivery_to_an_internal_address_is_dead_lettered_without_a_request(
    store: Redis, receiver: WebhookReceiver, host: str, named: str
) -> None:
    url = receiver.url.replace("127.0.0.1", host)
    await stored_subscription(store, url)
    settings = delivery_settings(webhook_allowed_hosts="")  # the default: nothing internal
    registry = CollectorRegistry()
    async with running_worker(store, settings, registry):
        assert await notify(store, settings, alert_notification()) == 1
        await eventually(lambda: finished(store))
    record = await the_delivery(store)
    assert record.status == "dead"
    assert record.error is not None and record.error.startswith("refused, nothing sent: ")
    assert named in record.error and "loopback" in record.error
    [attempt] = record.attempts
    assert attempt.status_code is None and attempt.error is not None
    assert attempt.error.startswith("refused: ")
    assert receiver.received == []
    assert outcomes(registry) == {"delivered": 0.0, "retried": 0.0, "dead": 1.0}


async def test_an_allowed_name_is_delivered_to_the_vetted_address_with_its_own_host_header(
    store: Redis, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name only the worker's own lookup knows: if it let httpx look the name up again (the
    # window DNS rebinding uses) instead of connecting to the address it vetted, nothing arrives.
    async def vetted_lookup(host: str, port: int) -> list[str]:
        assert host == "hooks.rebind.invalid"
        return ["127.0.0.1"]

    monkeypatch.setattr("services.alerting.delivery.worker.resolve", vetted_lookup)
    url = receiver.url.replace("127.0.0.1", "hooks.rebind.invalid")
    await stored_subscription(store, url)
    settings = delivery_settings(webhook_allowed_hosts="127.0.0.0/8")  # by address, not name
    async with running_worker(store, settings):
        await notify(store, settings, alert_notification())
        await eventually(lambda: finished(store))
    assert (await the_delivery(store)).status == "delivered"
    [request] = receiver.received
    assert request.headers["host"] == url.split("/")[2]  # hooks.rebind.invalid:<port>


class _Redirector:
    """Answers every POST with 307 to ``location``."""

    def __init__(self, location: str) -> None:
        target = location

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(307)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_a_redirect_is_a_failed_attempt_and_never_followed(
    store: Redis, receiver: WebhookReceiver
) -> None:
    redirector = _Redirector(receiver.url)  # e.g. to an internal service
    try:
        await stored_subscription(store, redirector.url)
        settings = delivery_settings(delivery_max_attempts=1, webhook_allowed_hosts="127.0.0.1")
        async with running_worker(store, settings):
            await notify(store, settings, alert_notification())
            await eventually(lambda: finished(store))
    finally:
        redirector.close()
    record = await the_delivery(store)
    assert record.status == "dead" and record.error is not None and "HTTP 307" in record.error
    assert receiver.received == []
