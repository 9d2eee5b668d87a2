"""No secret leaks: after a session of ordinary and failing requests against real services, no
token, token hash or subscriber secret appears in any answer (body or header), any service log,
or any webhook a subscriber receives."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import ADMIN_TOKEN, CITY_TOKENS, VIEWER_TOKEN
from tests.support.processes import RedisServer, Service, wait_until
from tests.support.reports import bearer
from tests.support.webhooks import WebhookReceiver

SECRET = "whsec-never-shown-7c1e9a4b"
WRONG_TOKENS = [ADMIN_TOKEN + "x", "tok-guessed-0000"]
TOKENS = [*CITY_TOKENS.values(), ADMIN_TOKEN, VIEWER_TOKEN, *WRONG_TOKENS]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


SECRETS = {f"token {t}": t for t in TOKENS} | {f"hash of {t}": sha256(t) for t in TOKENS}
SECRETS["subscription secret"] = SECRET


def leaks(text: str) -> list[str]:
    return [what for what, secret in SECRETS.items() if secret in text]


def seen(response: httpx.Response) -> str:
    """Everything a caller sees of an answer."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{response.status_code}\n{headers}\n{response.text}"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as started:
        yield started


def test_no_token_hash_or_subscriber_secret_reaches_an_answer_a_log_or_a_webhook(
    redis_server: RedisServer,
    redis_client: redis.Redis,
    tokens_file: Path,
    tmp_path: Path,
    receiver: WebhookReceiver,
) -> None:
    env = {
        "PACER_REDIS_URL": redis_server.url,
        "PACER_TOKENS_FILE": str(tokens_file),
        "PACER_CLOCK": "fixed:2024-07-15T12:00:00+08:00",
        "PACER_EVAL_INTERVAL": "0.5",
        "PACER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    }
    names = ("ingest", "aggregator", "alerting")
    services = [Service(name, env, tmp_path / f"{name}.log") for name in names]
    answers: list[httpx.Response] = []
    try:
        for service in services[:2]:
            service.start(wait=False)
        for service in services[:2]:
            service.wait_ready()
        with httpx.Client(base_url=services[0].url, timeout=10) as api:

            def call(method: str, path: str, token: str | None = None, **kw: object) -> None:
                headers = bearer(token) if token else {}
                answers.append(api.request(method, path, headers=headers, **kw))  # type: ignore[arg-type]

            report = {"period": "2024-06", "as_of": "2024-06-30", "sites": []}
            call("POST", "/v1/cities/jinan/reports/5g-sites", CITY_TOKENS["jinan"], json=report)
            for wrong in [*WRONG_TOKENS, sha256(ADMIN_TOKEN)]:  # a hash is no token either
                call("GET", "/v1/progress", wrong)
            call("POST", "/v1/cities/jinan/reports/5g-sites", CITY_TOKENS["qingdao"], json=report)
            subscription = {"url": receiver.url, "secret": SECRET, "send_resolved": True}
            call("POST", "/v1/subscriptions", ADMIN_TOKEN, json=subscription)
            created = answers[-1]
            assert created.status_code == 201, created.text
            bad_filters = subscription | {"filters": {"cities": ["laiwu"]}}
            call("POST", "/v1/subscriptions", ADMIN_TOKEN, json=bad_filters)
            call("POST", "/v1/subscriptions", ADMIN_TOKEN, json=subscription | {"url": "ftp://x"})
            internal = subscription | {"url": "http://169.254.169.254/"}
            call("POST", "/v1/subscriptions", ADMIN_TOKEN, json=internal)
            call("POST", "/v1/subscriptions", VIEWER_TOKEN, json=subscription)
            call("GET", "/v1/subscriptions", ADMIN_TOKEN)
            listed = answers[-1].json()["subscriptions"]
            services[2].start()  # its first evaluation notifies the subscriber (reports overdue)
            wait_until(lambda: receiver.received, timeout=20)
            call("GET", f"/v1/subscriptions/{created.json()['id']}/deliveries", ADMIN_TOKEN)
            for path in ("/v1/progress", "/v1/alerts", "/metrics", "/openapi.json"):
                call("GET", path, VIEWER_TOKEN)
        assert [a.status_code for a in answers[1:4]] == [401, 401, 401]
        assert [a.status_code for a in answers[6:9]] == [422, 422, 422]
    finally:
        for service in reversed(services):
            service.stop()

    # Subscriptions are listed without their secret (contract section 3; README).
    assert "secret" not in created.json()
    assert listed and all("secret" not in s for s in listed)
    for answer in answers:
        assert leaks(seen(answer)) == [], (answer.request.method, answer.request.url)
    for service in services:
        assert leaks(service.log_path.read_text(errors="replace")) == [], service.name
    assert "delivered" in services[2].log_path.read_text()  # the logs were not empty
    for request in receiver.received:  # signed with the secret, never carrying it
        text = "\n".join(f"{k}: {v}" for k, v in request.headers.items()) + request.body.decode()
        assert leaks(text) == []
        assert request.headers["x-pacer-signature"].startswith("sha256=")
