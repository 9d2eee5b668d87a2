"""One alerts-stream entry -> its pending deliveries (``plan``), made atomically with its XACK."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from pydantic import ValidationError
from redis.asyncio import Redis

from services.alerting.delivery import scripts
from services.alerting.delivery.plan import plan_notified, plan_subscribed
from shared import names
from shared.settings import Settings
from shared.wire_alerts import Subscription, SubscriptionCreated, decode_alerts_entry
from shared.wire_deliveries import HISTORY_CAP

log = logging.getLogger("pacer.alerting.delivery")


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
        entry = decode_alerts_entry(dict(fields))
    except (KeyError, ValueError, TypeError) as exc:
        # No retry can fix a malformed entry: acknowledge it rather than block the group.
        log.error(
            "alerts entry %s is malformed (%r): acknowledged, nothing delivered", entry_id, exc
        )
        await redis.xack(names.ALERTS_STREAM, group, entry_id)
        return 0
    now = wall_clock()
    created_at = datetime.fromtimestamp(now, UTC)
    subscriptions = await _subscriptions(redis)
    if isinstance(entry, SubscriptionCreated):
        subscription = next((s for s in subscriptions if s.id == entry.subscription_id), None)
        records = plan_subscribed(
            entry_id, entry, subscription, external_url=settings.external_url, created_at=created_at
        )
        what = f"subscription {entry.subscription_id} created"
    else:
        # Read after the subscriptions: the create script writes a subscription and its starting
        # point together, so every subscription read above has its starting point here.
        raw = await redis.hgetall(names.SUBSCRIPTION_ALERTS_FROM_KEY)
        alerts_from = {str(k): str(v) for k, v in raw.items()}
        records = plan_notified(
            entry_id,
            entry,
            subscriptions,
            alerts_from,
            external_url=settings.external_url,
            created_at=created_at,
        )
        what = f"{len(entry.notifications)} notifications"
    keys = [names.ALERTS_STREAM, names.SUBSCRIPTIONS_KEY, names.DELIVERIES_DUE_KEY]
    args: list[str | int] = [group, entry_id, repr(now), HISTORY_CAP]
    for record in records:
        items = [item for pair in record.to_hash().items() for item in pair]
        keys += [
            names.delivery_key(record.id),
            names.subscription_deliveries_key(record.subscription_id),
        ]
        args += [record.subscription_id, record.id, len(items), *items]
    created = int(await redis.register_script(scripts.FAN_OUT)(keys=keys, args=args))
    log.info(
        "alerts entry %s (%s): %d of %d planned deliveries created",
        entry_id,
        what,
        created,
        len(records),
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
