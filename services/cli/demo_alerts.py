"""What the demo saw of Pacer's alerts: ``GET /v1/alerts`` polled while the months go by.

An alert that appears has fired (``startsAt`` says when, on the server's clock); one that
disappears has been resolved (the demo notes the server time it noticed). Alerts that come and
go between two polls are missed here; a webhook subscription sees every notification.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class SeenAlert:
    fingerprint: str
    labels: dict[str, str]
    summary: str
    starts_at: str
    resolved_at: datetime | None = None
    """When the demo noticed it gone (server time); None while active."""

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def city(self) -> str | None:
        return self.labels.get("city")


@dataclass
class AlertWatch:
    fetch: Callable[[], list[dict[str, Any]]]
    seen: list[SeenAlert] = field(default_factory=list)
    """Every alert seen, in the order they appeared."""
    _active: dict[str, SeenAlert] = field(default_factory=dict)

    def poll(self, server_now: datetime) -> tuple[list[SeenAlert], list[SeenAlert]]:
        """Fired and resolved since the last poll."""
        current = {a["fingerprint"]: a for a in self.fetch()}
        fired = []
        for fingerprint, alert in current.items():
            if fingerprint in self._active:  # its numbers move on: show the latest
                self._active[fingerprint].summary = _summary(alert)
            else:
                seen = SeenAlert(
                    fingerprint,
                    dict(alert["labels"]),
                    _summary(alert),
                    str(alert.get("startsAt", "")),
                )
                self._active[fingerprint] = seen
                self.seen.append(seen)
                fired.append(seen)
        resolved = [a for fp, a in self._active.items() if fp not in current]
        for gone in resolved:
            gone.resolved_at = server_now
            del self._active[gone.fingerprint]
        return fired, resolved

    @property
    def active(self) -> list[SeenAlert]:
        return list(self._active.values())

    def is_active(self, alertname: str, **labels: str) -> bool:
        return any(
            a.name == alertname and all(a.labels.get(k) == v for k, v in labels.items())
            for a in self._active.values()
        )


def _summary(alert: dict[str, Any]) -> str:
    return str(alert.get("annotations", {}).get("summary", ""))
