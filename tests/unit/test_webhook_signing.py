"""Webhook signatures over the delivery id, a timestamp and the body, checked by the receiver
code the README gives (run here as it is printed there)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from services.alerting.delivery.signing import (
    TOLERANCE_S,
    signed_headers,
    timestamped_signature,
    verify,
    verify_delivery,
)
from tests.support.processes import REPO_ROOT

SECRET = "a-long-shared-secret-0001"
BODY = b'{"version":"4","status":"firing","alerts":[]}'
SENT = 1_796_000_000
DELIVERY = "dlv_0123456789abcdef"

Check = Callable[..., bool]


def readme_check() -> Check:
    """``pacer_delivery_is_authentic`` from the README's Python block, executed."""
    readme = (REPO_ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    [code] = [block for block in blocks if "def pacer_delivery_is_authentic" in block]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    check: Check = namespace["pacer_delivery_is_authentic"]
    return check


def lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@pytest.fixture(params=["readme", "pacer"])
def check(request: pytest.FixtureRequest) -> Check:
    """The README's receiver code and Pacer's own ``verify_delivery`` must agree everywhere."""
    return readme_check() if request.param == "readme" else verify_delivery


def test_a_delivery_passes_the_check_when_it_arrives(check: Check) -> None:
    headers = lower(signed_headers(SECRET, DELIVERY, SENT, BODY))
    assert check(SECRET, headers, BODY, now=SENT + 2)
    assert headers["webhook-id"] == headers["x-pacer-delivery"] == DELIVERY
    assert headers["webhook-timestamp"] == str(SENT)


def test_the_same_body_replayed_later_with_its_old_timestamp_fails(check: Check) -> None:
    headers = lower(signed_headers(SECRET, DELIVERY, SENT, BODY))
    assert not check(SECRET, headers, BODY, now=SENT + TOLERANCE_S + 1)
    assert not check(SECRET, headers, BODY, now=SENT + 24 * 3600)
    # The body-only signature cannot tell: it still passes, which is why it is not enough.
    assert verify(SECRET, BODY, headers["x-pacer-signature"])


def test_a_fresh_timestamp_on_a_captured_delivery_breaks_its_signature(check: Check) -> None:
    headers = lower(signed_headers(SECRET, DELIVERY, SENT, BODY))
    replayed = headers | {"webhook-timestamp": str(SENT + 3600)}
    assert not check(SECRET, replayed, BODY, now=SENT + 3600)


@pytest.mark.parametrize(
    "change",
    [
        {"body": BODY.replace(b"firing", b"resolved")},
        {"headers": {"webhook-id": "dlv_another"}},
        {"secret": "another-secret-entirely"},
        {"headers": {"webhook-signature": "v1,AAAA"}},
        {"headers": {"webhook-timestamp": "soon"}},
        {"headers": {"webhook-signature": ""}},
    ],
    ids=["body", "id", "secret", "signature", "timestamp-text", "unsigned"],
)
def test_anything_changed_fails(check: Check, change: dict[str, Any]) -> None:
    headers = lower(signed_headers(SECRET, DELIVERY, SENT, BODY)) | change.get("headers", {})
    secret, body = change.get("secret", SECRET), change.get("body", BODY)
    assert not check(secret, headers, body, now=SENT)


def test_a_timestamp_from_the_future_fails_too(check: Check) -> None:
    headers = lower(signed_headers(SECRET, DELIVERY, SENT, BODY))
    assert check(SECRET, headers, BODY, now=SENT - TOLERANCE_S)
    assert not check(SECRET, headers, BODY, now=SENT - TOLERANCE_S - 1)


def test_one_of_several_offered_signatures_is_enough(check: Check) -> None:
    headers = lower(signed_headers(SECRET, DELIVERY, SENT, BODY))
    headers["webhook-signature"] = f"v1,bm9wZQ== {headers['webhook-signature']}"
    assert check(SECRET, headers, BODY, now=SENT)


def test_a_standard_webhooks_secret_is_used_decoded(check: Check) -> None:
    key = b"\x00\x01 any bytes \xff"
    secret = "whsec_" + base64.b64encode(key).decode()
    headers = lower(signed_headers(secret, DELIVERY, SENT, BODY))
    assert check(secret, headers, BODY, now=SENT)
    signed = f"{DELIVERY}.{SENT}.".encode() + BODY
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()


def test_the_signature_is_standard_webhooks_over_id_timestamp_and_body() -> None:
    # The example of the Standard Webhooks specification (its secret, id, timestamp and body).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = timestamped_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
