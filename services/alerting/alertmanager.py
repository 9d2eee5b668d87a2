"""Posts Pacer's alerts to Alertmanager's ``/api/v2/alerts``.

Firing alerts are re-sent after every evaluation with an ``endsAt`` a few evaluation intervals
ahead of Alertmanager's own clock (a lease: if Pacer stops, Alertmanager resolves them by
itself); resolved alerts are sent with ``endsAt`` = when they ended.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx

from shared import clock
from shared.domain.alert_lifecycle import ActiveAlert, Event, Notification
from shared.wire_alerts import alertmanager_alert

log = logging.getLogger("pacer.alerting")

LEASE_INTERVALS = 3


class AlertmanagerClient:
    def __init__(
        self, base_url: str, http: httpx.AsyncClient, eval_interval: timedelta, generator_url: str
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/api/v2/alerts"
        self._http = http
        self._lease = eval_interval * LEASE_INTERVALS
        self._generator_url = generator_url

    def body(
        self, active: dict[str, ActiveAlert], notifications: list[Notification]
    ) -> list[dict[str, object]]:
        wall_now = clock.wall_now()  # Alertmanager judges endsAt by its own clock
        alerts = [
            alertmanager_alert(
                record.alert, record.starts_at, wall_now + self._lease, self._generator_url
            )
            for record in active.values()
        ]
        alerts += [
            alertmanager_alert(
                n.alert, n.starts_at, min(n.ends_at or wall_now, wall_now), self._generator_url
            )
            for n in notifications
            if n.event is Event.RESOLVED
        ]
        return alerts

    async def push(self, active: dict[str, ActiveAlert], notifications: list[Notification]) -> bool:
        """Best effort: an unreachable Alertmanager is logged and retried at the next evaluation."""
        body = self.body(active, notifications)
        if not body:
            return True
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.HTTPError as exc:
            log.warning("alertmanager unreachable at %s: %r", self._url, exc)
            return False
        if response.status_code >= 300:
            log.warning("alertmanager answered %d: %s", response.status_code, response.text[:200])
            return False
        return True
