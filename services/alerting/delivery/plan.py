"""Which deliveries an alerts-stream entry makes: pure, so the fan-out only reads and writes Redis.

- One group's notifications from one evaluation: per subscription, one delivery holding those it
  wants (filters, ``send_resolved``); wanting none, it gets none. A subscription hears only of
  entries written after its creation entry: what was active before, that entry brought it.
- A new subscription: one delivery per group of the active alerts it wants, all ``firing``,
  including those in their resolve hold (notified firing, not yet resolved), so any later
  ``resolved`` it receives is for an alert it was told about.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime

from shared.domain.alert_lifecycle import Event, Notification, by_group, group_labels
from shared.domain.alert_state_upgrade import STATE_FORMAT, upgrade_active
from shared.wire_alerts import (
    GroupNotified,
    Subscription,
    SubscriptionCreated,
    group_key,
    webhook_body,
)
from shared.wire_deliveries import DeliveredAlert, DeliveryRecord, Reason


def delivery_id(entry_id: str, subscription_id: str, group_key: str = "") -> str:
    """Deterministic, so fanning out the same entry again finds the deliveries it made.

    An entry of notifications is one group (``group_key`` empty, as before grouping); a creation
    entry makes one delivery per group."""
    parts = [entry_id, subscription_id, *([group_key] if group_key else [])]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def plan_notified(
    entry_id: str,
    entry: GroupNotified,
    subscriptions: list[Subscription],
    alerts_from: Mapping[str, str],
    *,
    external_url: str,
    created_at: datetime,
) -> list[DeliveryRecord]:
    """``alerts_from``: subscription id -> its creation entry's id (absent: subscribed before
    creation entries existed, so it hears of everything)."""
    planned = []
    for subscription in subscriptions:
        since = alerts_from.get(subscription.id)
        if since is not None and entry_order(entry_id) <= entry_order(since):
            continue
        wanted = [n for n in entry.notifications if subscription.wants(n)]
        if wanted:
            planned.append(
                _record(
                    delivery_id(entry_id, subscription.id),
                    entry_id,
                    subscription,
                    wanted,
                    "notified",
                    external_url,
                    created_at,
                )
            )
    return planned


def plan_subscribed(
    entry_id: str,
    entry: SubscriptionCreated,
    subscription: Subscription | None,
    *,
    external_url: str,
    created_at: datetime,
) -> list[DeliveryRecord]:
    """``subscription``: the one created (None once deleted: nothing to deliver)."""
    if subscription is None:
        return []
    active = entry.active
    if entry.state_format != STATE_FORMAT:  # read before the evaluator upgraded the records
        active = upgrade_active(active)
    firing = [
        Notification(Event.FIRING, record.alert, record.starts_at, None, created_at)
        for _, record in sorted(active.items())
    ]
    planned = []
    for group in by_group(n for n in firing if subscription.wants(n)):
        key = group_key(group_labels(group[0].alert))
        record_id = delivery_id(entry_id, subscription.id, key)
        planned.append(
            _record(
                record_id, entry_id, subscription, group, "subscribed", external_url, created_at
            )
        )
    return planned


def entry_order(entry_id: str) -> tuple[int, int]:
    """A stream entry id (``<ms>-<seq>``) as something that sorts like the stream."""
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence or 0)


def _record(
    record_id: str,
    entry_id: str,
    subscription: Subscription,
    notifications: list[Notification],
    reason: Reason,
    external_url: str,
    created_at: datetime,
) -> DeliveryRecord:
    body = webhook_body(notifications, receiver=subscription.id, external_url=external_url)
    return DeliveryRecord(
        id=record_id,
        subscription_id=subscription.id,
        entry_id=entry_id,
        reason=reason,
        event=body["status"],
        group=body["groupLabels"],
        alerts=[
            DeliveredAlert(
                event=str(n.event), fingerprint=n.alert.fingerprint, labels=n.alert.labels
            )
            for n in notifications
        ],
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status="pending",
        created_at=created_at,
        next_attempt_at=created_at,
    )
