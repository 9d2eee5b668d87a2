"""Webhook deliveries as stored in Redis (hash ``names.delivery_key``) and listed by the API.

Written by the alerting service's delivery engine, read by the ingest's
``GET /v1/subscriptions/{id}/deliveries``: the one place that knows the hash's fields.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter

from shared.wire_alerts import DeliveryStatus

HISTORY_CAP = 100
"""Delivery ids kept per subscription (``names.subscription_deliveries_key``), newest first."""


class Attempt(BaseModel):
    """One POST to the subscriber: its HTTP status, or why there was none."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    at: datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: int


_ATTEMPTS: TypeAdapter[list[Attempt]] = TypeAdapter(list[Attempt])


def encode_attempts(attempts: list[Attempt]) -> str:
    return _ATTEMPTS.dump_json(attempts, exclude_none=True).decode()


class DeliveredAlert(BaseModel):
    """One alert of a delivery and what happened to it (``repeat``: still firing, reminded)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    event: str
    fingerprint: str
    labels: dict[str, str]

    def public(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "fingerprint": self.fingerprint,
            "alertname": self.labels.get("alertname"),
            "labels": self.labels,
        }


_ALERTS: TypeAdapter[list[DeliveredAlert]] = TypeAdapter(list[DeliveredAlert])

Reason = Literal["notified", "subscribed"]
"""Why a delivery was made: an evaluation notified its alerts, or the subscription was created
while they were active."""


class DeliveryRecord(BaseModel):
    """One webhook to one subscriber (one group's alerts), with every attempt made so far."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str
    """Stable across retries: the receiver's ``X-Pacer-Delivery``."""
    subscription_id: str
    entry_id: str
    """The alerts-stream entry it was fanned out from."""
    reason: Reason = "notified"
    event: str
    """The webhook's ``status``: firing when any of its alerts fires, else resolved."""
    group: dict[str, str]
    """The webhook's ``groupLabels``."""
    alerts: list[DeliveredAlert]
    body: str
    """The exact webhook JSON, serialized once so every retry sends (and signs) the same bytes."""
    status: DeliveryStatus
    attempts: list[Attempt] = []
    created_at: datetime
    next_attempt_at: datetime | None = None
    error: str | None = None
    """Why it was dead-lettered."""

    def to_hash(self) -> dict[str, str]:
        return {
            "id": self.id,
            "subscription_id": self.subscription_id,
            "entry_id": self.entry_id,
            "reason": self.reason,
            "event": self.event,
            "group": json.dumps(self.group, sort_keys=True, ensure_ascii=False),
            "alerts": _ALERTS.dump_json(self.alerts).decode(),
            "body": self.body,
            "status": self.status,
            "attempts": encode_attempts(self.attempts),
            "created_at": self.created_at.isoformat(),
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else "",
            "error": self.error or "",
        }

    @classmethod
    def from_hash(cls, fields: dict[str, str]) -> DeliveryRecord:
        doc: dict[str, Any] = {k: v for k, v in fields.items() if v != ""}
        doc["attempts"] = json.loads(fields.get("attempts") or "[]")
        if "alerts" in doc:
            doc["alerts"] = json.loads(doc["alerts"])
            doc["group"] = json.loads(doc["group"])
        else:  # written before deliveries were grouped: one alert each
            alertname = doc.get("alertname", "")
            doc["alerts"] = [
                {
                    "event": doc.get("event", ""),
                    "fingerprint": doc.get("fingerprint", ""),
                    "labels": {"alertname": alertname},
                }
            ]
            doc["group"] = {"alertname": alertname}
        return cls.model_validate(doc)

    def public(self) -> dict[str, Any]:
        """One item of ``GET /v1/subscriptions/{id}/deliveries`` (no body, no secret)."""
        doc: dict[str, Any] = {
            "id": self.id,
            "subscription_id": self.subscription_id,
            "reason": self.reason,
            "event": self.event,
            "group": self.group,
            "alerts": [alert.public() for alert in self.alerts],
            "status": self.status,
            "attempts": [a.model_dump(mode="json", exclude_none=True) for a in self.attempts],
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "created_at": self.created_at.isoformat(),
        }
        if self.error:
            doc["error"] = self.error
        return doc
