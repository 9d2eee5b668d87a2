"""One alerts-stream entry -> one pending delivery per subscription that wants it."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from pydantic import ValidationError
from redis.asyncio import Redis

from services.alerting.delivery import scripts
from shared import names
from shared.domain.alert_lifecycle import Notification
from shared.settings import Settings
from shared.wire_alerts import Subscription, notification_from_fields, webhook_body
from shared.wire_deliveries import HISTORY_CAP, DeliveryRecord

log = logging.getLogger("pacer.alerting.delivery")


def delivery_id(entry_id: str, subscription_id: str) -> str:
    """Deterministic, so fanning out the same entry again finds the deliveries it made."""
    return hashlib.sha256(f"{entry_id}\x1f{subscription_id}".encode()).hexdigest()[:24]


async def fan_out(
    redis: Redis,
    entry_id: str,
    fields: Mapping[str, str],
    settings: Settings,
    *,
    group: str = names.DELIVERY_GROUP,
    wall_clock: Callable[[], float] = time.time,
) -> int:
    """Create the entry's deliveries and XACK it in one atomic step; the number created.

    Safe to call again for the same entry (a redelivery after a crash): it creates nothing twice.
    Raises on a Redis failure, leaving the entry pending for the reclaimer.
    """
    try:
        notification = notification_from_fields(dict(fields))
    except (KeyError, ValueError) as exc:
        # No retry can fix a malformed entry: acknowledge it rather than block the group.
        log.error(
            "alerts entry %s is malformed (%r): acknowledged, nothing delivered", entry_id, exc
        )
        await redis.xack(names.ALERTS_STREAM, group, entry_id)
        return 0
    wanting = [s for s in await _subscriptions(redis) if s.wants(notification)]
    now = wall_clock()
    created_at = datetime.fromtimestamp(now, UTC)
    keys = [names.ALERTS_STREAM, names.SUBSCRIPTIONS_KEY, names.DELIVERIES_DUE_KEY]
    args: list[str | int] = [group, entry_id, repr(now), HISTORY_CAP]
    for subscription in wanting:
        record = _record(entry_id, notification, subscription, settings.external_url, created_at)
        items = [item for pair in record.to_hash().items() for item in pair]
        keys += [names.delivery_key(record.id), names.subscription_deliveries_key(subscription.id)]
        args += [subscription.id, record.id, len(items), *items]
    created = int(await redis.register_script(scripts.FAN_OUT)(keys=keys, args=args))
    log.info(
        "%s %s (entry %s): %d of %d matching subscriptions got a new delivery",
        notification.event,
        notification.alert.fingerprint,
        entry_id,
        created,
        len(wanting),
    )
    return created


async def _subscriptions(redis: Redis) -> list[Subscription]:
    found = []
    for subscription_id, raw in (await redis.hgetall(names.SUBSCRIPTIONS_KEY)).items():
        try:
            found.append(Subscription.model_validate_json(raw))
        except ValidationError:
            log.error("subscription %s is not readable: skipped", subscription_id)
    return found


def _record(
    entry_id: str,
    notification: Notification,
    subscription: Subscription,
    external_url: str,
    created_at: datetime,
) -> DeliveryRecord:
    body = webhook_body(notification, receiver=subscription.id, external_url=external_url)
    return DeliveryRecord(
        id=delivery_id(entry_id, subscription.id),
        subscription_id=subscription.id,
        entry_id=entry_id,
        event=str(notification.event),
        fingerprint=notification.alert.fingerprint,
        alertname=notification.alert.name,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status="pending",
        created_at=created_at,
        next_attempt_at=created_at,
    )
