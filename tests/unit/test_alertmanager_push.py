"""What the alerting service posts to Alertmanager's /api/v2/alerts (alerting/alertmanager.py):
nested twins both, each under its own labels; a resolution with the instant it ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import httpx

from services.alerting.alertmanager import AlertmanagerClient
from shared.domain.alert_lifecycle import ActiveAlert, Event, Notification
from shared.domain.alerts import Alert

STARTS = datetime(2025, 1, 15, 4, 0, tzinfo=UTC)
OVERDUE = {"alertname": "ReportOverdue", "city": "jinan", "kind": "gigabit"}


def test_twins_are_pushed_firing_with_a_lease_and_a_resolution_with_its_end() -> None:
    warning = Alert(OVERDUE | {"severity": "warning"}, {"summary": "s"})
    critical = Alert(OVERDUE | {"severity": "critical"}, {"summary": "s"})
    gone = Alert(OVERDUE | {"severity": "warning", "city": "heze"}, {"summary": "s"})
    active = {
        warning.fingerprint: ActiveAlert(warning, STARTS, STARTS),
        critical.fingerprint: ActiveAlert(critical, STARTS, STARTS, absent_since=STARTS),
    }
    ended = STARTS + timedelta(hours=1)
    resolved = Notification(Event.RESOLVED, gone, STARTS, ended, ended)
    unused = cast(httpx.AsyncClient, None)  # body() sends nothing
    client = AlertmanagerClient(
        "http://am.invalid/", unused, timedelta(seconds=60), "https://p/v1/alerts"
    )
    before = datetime.now(UTC)

    body = client.body(active, [resolved])

    by_severity_city = {(a["labels"]["severity"], a["labels"]["city"]): a for a in body}
    assert set(by_severity_city) == {
        ("warning", "jinan"),
        ("critical", "jinan"),
        ("warning", "heze"),
    }
    for twin in (warning, critical):
        pushed = by_severity_city[(twin.severity, "jinan")]
        assert pushed["labels"] == twin.labels  # no program: ReportOverdue is per city and kind
        assert pushed["startsAt"] == STARTS.isoformat()
        assert datetime.fromisoformat(pushed["endsAt"]) >= before + timedelta(minutes=3)
        assert pushed["generatorURL"] == "https://p/v1/alerts"
    assert by_severity_city[("warning", "heze")]["endsAt"] == ended.isoformat()
