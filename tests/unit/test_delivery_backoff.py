"""Webhook retry timing and signatures (services/alerting/delivery: backoff, signing)."""

from __future__ import annotations

import pytest

from services.alerting.delivery.backoff import RetryPolicy
from services.alerting.delivery.signing import signature, verify

POLICY = RetryPolicy(max_attempts=4, base_s=1.0, max_s=5.0)


@pytest.mark.parametrize(
    ("failed", "jitter", "delay"),
    [
        (1, 1.0, 1.0),
        (2, 1.0, 2.0),
        (3, 1.0, 4.0),
        (4, 1.0, 5.0),  # capped
        (10, 1.0, 5.0),
        (3, 0.5, 2.0),  # jitter scales the capped delay down by at most half
        (10, 0.5, 2.5),
    ],
)
def test_the_retry_delay_doubles_per_failure_up_to_the_cap(
    failed: int, jitter: float, delay: float
) -> None:
    assert POLICY.delay(failed, jitter) == pytest.approx(delay)


@pytest.mark.parametrize(("failed", "gives_up"), [(1, False), (3, False), (4, True), (5, True)])
def test_a_delivery_is_dead_lettered_after_the_last_attempt(failed: int, gives_up: bool) -> None:
    assert POLICY.gives_up_after(failed) is gives_up


def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    # RFC 4231 test case 2.
    assert signature("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    assert verify(
        "Jefe", b"what do ya want for nothing?", signature("Jefe", b"what do ya want for nothing?")
    )
    assert not verify(
        "Jefe", b"what do ya want for nothing!", signature("Jefe", b"what do ya want for nothing?")
    )
