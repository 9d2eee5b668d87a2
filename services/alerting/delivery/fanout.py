"""One alerts-stream entry -> its pending deliveries (``plan``), made atomically with its XACK."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from services.alerting.delivery.plan import plan_notified, plan_subscribed
from shared import names
from shared.clock import wall_time
from shared.settings import Settings
from shared.store.client import StoreClient
from shared.store.deliveries import Deliveries
from shared.store.subscriptions import SubscriptionStore
from shared.wire_alerts import SubscriptionCreated, decode_alerts_entry

log = logging.getLogger("pacer.alerting.delivery")


class FanOut:
    """Turns alerts-stream entries into pending deliveries; one per service, its store families
    (and their scripts) built once."""

    def __init__(
        self,
        redis: StoreClient,
        settings: Settings,
        *,
        group: str = names.DELIVERY_GROUP,
        wall_clock: Callable[[], float] = wall_time,
    ) -> None:
        self._deliveries = Deliveries(redis)
        self._subscriptions = SubscriptionStore(redis)
        self._settings = settings
        self._group = group
        self._wall_clock = wall_clock

    async def __call__(self, entry_id: str, fields: Mapping[str, str]) -> int:
        """Create the entry's deliveries and XACK it in one atomic step; the number created.

        Safe to call again for the same entry (a redelivery after a crash): it creates nothing
        twice. Raises on a Redis failure, leaving the entry pending for the reclaimer.
        """
        deliveries, subscriptions_store = self._deliveries, self._subscriptions
        group, settings = self._group, self._settings
        try:
            entry = decode_alerts_entry(dict(fields))
        except (KeyError, ValueError, TypeError) as exc:
            # No retry can fix a malformed entry: acknowledge it rather than block the group.
            log.error(
                "alerts entry %s is malformed (%r): acknowledged, nothing delivered", entry_id, exc
            )
            await deliveries.acknowledge_unreadable(group, entry_id)
            return 0
        now = self._wall_clock()
        created_at = datetime.fromtimestamp(now, UTC)
        subscriptions = await subscriptions_store.all()
        if isinstance(entry, SubscriptionCreated):
            subscription = next((s for s in subscriptions if s.id == entry.subscription_id), None)
            records = plan_subscribed(
                entry_id,
                entry,
                subscription,
                external_url=settings.external_url,
                created_at=created_at,
            )
            what = f"subscription {entry.subscription_id} created"
        else:
            # Read after the subscriptions: the create script writes a subscription and its
            # starting point together, so every subscription read above has its starting point.
            alerts_from = await subscriptions_store.alerts_from()
            records = plan_notified(
                entry_id,
                entry,
                subscriptions,
                alerts_from,
                external_url=settings.external_url,
                created_at=created_at,
            )
            what = f"{len(entry.notifications)} notifications"
        created = await deliveries.create_from_entry(group, entry_id, records, due_at=now)
        log.info(
            "alerts entry %s (%s): %d of %d planned deliveries created",
            entry_id,
            what,
            created,
            len(records),
        )
        return created


async def fan_out(
    redis: StoreClient,
    entry_id: str,
    fields: Mapping[str, str],
    settings: Settings,
    *,
    group: str = names.DELIVERY_GROUP,
    wall_clock: Callable[[], float] = wall_time,
) -> int:
    """``FanOut`` for one entry (tests, one-off tools): the service keeps one ``FanOut``."""
    return await FanOut(redis, settings, group=group, wall_clock=wall_clock)(entry_id, fields)
