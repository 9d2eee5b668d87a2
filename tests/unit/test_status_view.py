"""``pacer status``: the JSON document keeps /v1/progress's numbers; the table renders them."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

from rich.console import Console

from services.cli.status import status_document
from services.cli.status_table import render_status
from services.ingest.progress_view import province_view
from shared.domain.calendar import PROVINCE_TZ, Period
from shared.domain.state import CityState, IndicatorReading, ReportKind
from shared.targets import load_targets

NOW = datetime(2024, 7, 15, 12, tzinfo=PROVINCE_TZ)


def progress() -> dict[str, Any]:
    targets = load_targets()
    states = {city: CityState(city) for city in targets.cities}
    states["jinan"] = CityState(
        "jinan",
        sites_by_day={date(2024, 6, 3): 2000},
        indicators={"household_gigabit_coverage_pct": IndicatorReading(75, date(2024, 6, 30), "r")},
        reported_periods={ReportKind.SITES: frozenset({Period(2024, 6)})},
    )
    return province_view(targets, states, NOW)


ALERTS = [
    {
        "labels": {"alertname": "ReportOverdue", "severity": "warning", "city": "jinan"},
        "annotations": {"summary": "Jinan's gigabit report for 2024-06 is overdue"},
        "startsAt": "2024-07-11T00:00:00+08:00",
        "fingerprint": "f1",
    },
    {
        "labels": {"alertname": "FiveGProvinceBehindPlan", "severity": "critical"},
        "annotations": {"summary": "The province is behind plan"},
        "startsAt": "2024-07-01T00:00:00+08:00",
        "fingerprint": "f2",
    },
]


def test_the_document_is_progress_plus_overdue_kinds_and_alert_counts() -> None:
    source = progress()
    document = status_document(source, ALERTS)
    assert document["as_of"] == source["as_of"]
    assert document["alerts"] == ALERTS
    assert document["province"]["active_alerts"] == 2
    for city_id, city in document["cities"].items():
        assert city["programs"] == source["cities"][city_id]["programs"]
        assert city["reports"] == source["cities"][city_id]["reports"]
    assert document["cities"]["jinan"]["overdue"] == ["gigabit"]
    assert document["cities"]["jinan"]["active_alerts"] == 1
    assert document["cities"]["heze"]["overdue"] == ["5g-sites", "gigabit"]
    assert document["cities"]["heze"]["active_alerts"] == 0


def test_the_table_shows_every_city_the_province_and_the_alerts() -> None:
    out = io.StringIO()
    render_status(Console(file=out, width=160), status_document(progress(), ALERTS), 30)
    text = out.getvalue()
    assert all(name in text for name in ("Jinan", "Heze", "Province", "Active alerts: 2"))
    assert "2,000 of 6,345" in text
    assert "fails household_gigabit_coverage" in text
    assert "2024-07-15 12:00" in text
