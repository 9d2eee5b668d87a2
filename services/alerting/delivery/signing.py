"""How a webhook delivery is signed, and the check a receiver makes (README: Receiving webhooks).

Every attempt carries, with the subscription's secret as the key:

- Standard Webhooks' headers: ``webhook-id`` (the delivery's id, the same on every retry),
  ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
  (``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">``). A receiver that checks these
  and refuses a timestamp more than ``TOLERANCE_S`` away from its own clock refuses a captured
  delivery replayed later; remembering the ids it has processed for that long refuses one
  replayed sooner. A secret written ``whsec_<base64>`` (Standard Webhooks' form) is used
  decoded, so their libraries check it as it is; any other secret is used as its UTF-8 bytes.
- ``X-Pacer-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` (contract section 3), for
  receivers written before the timestamp: it proves who sent the body, not when.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

TOLERANCE_S = 300
"""How far a delivery's timestamp may be from the receiver's clock (Standard Webhooks' 5 min)."""
STANDARD_SECRET_PREFIX = "whsec_"


def signature(secret: str, body: bytes) -> str:
    """``X-Pacer-Signature``: ``sha256=<hex>`` over the body alone."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """The body-only check of ``X-Pacer-Signature`` (constant-time); no replay protection."""
    return hmac.compare_digest(signature(secret, body), header)


def signing_key(secret: str) -> bytes:
    if secret.startswith(STANDARD_SECRET_PREFIX):
        try:
            return base64.b64decode(secret.removeprefix(STANDARD_SECRET_PREFIX), validate=True)
        except binascii.Error:
            pass  # not base64 after all: the secret is its text, as any other
    return secret.encode()


def timestamped_signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature``: ``v1,<base64>`` over ``<id>.<timestamp>.<body>``."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header that identifies and signs one attempt of a delivery."""
    return {
        "X-Pacer-Delivery": delivery_id,
        "X-Pacer-Signature": signature(secret, body),
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": timestamped_signature(secret, delivery_id, timestamp, body),
    }


def verify_delivery(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance_s: float = TOLERANCE_S,
) -> bool:
    """The receiver's check (``headers`` with lower-case names): signed by the secret's holder,
    over this id, timestamp and body, and sent within ``tolerance_s`` of ``now``."""
    delivery_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not delivery_id or not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = timestamped_signature(secret, delivery_id, int(timestamp), body)
    offered = headers.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)
