"""What ``pacer demo`` tells the newcomer: the story it plays, what happened, where to look."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from services.cli.demo_alerts import AlertWatch, SeenAlert
from services.cli.demo_driver import Outcome
from services.cli.demo_simulation import FAILING_INDICATOR, Roles, Scenario
from services.cli.status_table import STATUS_STYLES
from shared.domain.calendar import PROVINCE_TZ

ROLE_ALERTS = {
    "lagging": ("FiveGBehindPlan", "FiveGProjectedMiss", "FiveGTargetMissed"),
    "recovering": ("FiveGBehindPlan", "FiveGProjectedMiss"),
    "skipping": ("ReportOverdue",),
    "gigabit_failing": ("GigabitIndicatorBelowThreshold", "GigabitStandardNotMet"),
}
"""The alerts each part raises under the v2 rules (``tests/unit/test_demo_simulation.py``)."""


def parts(roles: Roles) -> dict[str, tuple[str, str]]:
    """city -> (role, what it does in the story and what Pacer says about it)."""
    skipped = roles.skipped_period
    return {
        roles.lagging: (
            "lagging",
            "a good first quarter, then half pace: FiveGBehindPlan (warning) with its 2024-04 "
            "report, critical too from 2024-05, FiveGProjectedMiss; later behind the 5g-2027 "
            "increment as well; FiveGTargetMissed once its 2025-12 report is in (its 5g-2025 "
            "behind-plan alerts resolve then: the target is missed, no longer behind)",
        ),
        roles.recovering: (
            "recovering",
            "slower than the plan's steep spring: FiveGProjectedMiss with its 2024-04 report, "
            "FiveGBehindPlan (warning) from 2024-05; catches up in October: both resolve with "
            "its 2024-10 report",
        ),
        roles.skipping: (
            "skipping",
            f"misses the due day (the 10th) of its {skipped} reports and submits them two weeks "
            "late: ReportOverdue (5g-sites and gigabit) fires once the 10th has passed, then "
            "resolves",
        ),
        roles.gigabit_failing: (
            "gigabit_failing",
            f"keeps {FAILING_INDICATOR} under 80: GigabitIndicatorBelowThreshold (warning) from "
            "its first report; critical too, and GigabitStandardNotMet, once its 2024-12 report "
            "makes the final judgement",
        ),
    }


def role_alert(roles: Roles, alert: SeenAlert) -> bool:
    """An alert that is part of the story: the province's, or one a city's part is about."""
    if alert.city is None:
        return True
    role = parts(roles).get(alert.city, ("", ""))[0]
    return alert.name in ROLE_ALERTS.get(role, ())


def story_lines(roles: Roles, seed: int) -> list[str]:
    lines = [
        f"The story (seed {seed}): 16 cities report their new 5G sites every month (and their "
        "gigabit indicators while gigabit-2024 runs, through 2024-12) by the 3rd of the next "
        "month. Pacer judges each city on the last day its figures cover (judged_as_of), never "
        "on today, so the twelve cities without a part, ahead of both site plans, raise nothing. "
        "Four have a part:"
    ]
    lines += [f"  [bold]{city}[/] {role}: {text}" for city, (role, text) in parts(roles).items()]
    lines.append(
        "  The province stays on plan throughout (no FiveGProvinceBehindPlan) and meets 5g-2025. "
        "[dim]Each city first files an empty 2023-12 report, so the province is judged only on "
        "days every city has figures for.[/]"
    )
    return lines


def _local_day(iso: str | datetime | None) -> str:
    if iso is None:
        return "-"
    instant = datetime.fromisoformat(iso) if isinstance(iso, str) else iso
    return instant.astimezone(PROVINCE_TZ).date().isoformat()


def _episode(alert: SeenAlert) -> str:
    detail = (
        alert.labels.get("indicator") or alert.labels.get("kind") or alert.labels.get("program")
    )
    ended = f"resolved {_local_day(alert.resolved_at)}" if alert.resolved_at else "still active"
    severity = alert.labels.get("severity", "")
    return f"{alert.name} {severity} ({detail}): fired {_local_day(alert.starts_at)}, {ended}"


def alert_story(watch: AlertWatch, roles: Roles) -> list[str]:
    lines = []
    for city, (role, _text) in parts(roles).items():
        lines.append(f"  [bold]{city}[/] ({role}):")
        episodes = [a for a in watch.seen if a.city == city and a.name in ROLE_ALERTS[role]]
        lines += [f"    {_episode(a)}" for a in episodes] or ["    (none seen)"]
    province = [a for a in watch.seen if a.city is None]
    lines.append("  [bold]the province[/]:")
    lines += [f"    {_episode(a)}" for a in province] or ["    on plan: no alert"]
    others = [a for a in watch.seen if a.city is not None and not role_alert(roles, a)]
    if others:
        lines.append("  [red]Not in the story[/] (please report):")
        lines += [f"    {a.city}: {_episode(a)}" for a in others]
    resolved = sum(1 for a in watch.seen if a.resolved_at is not None)
    lines.append(
        f"  In all: {len(watch.seen)} alerts fired, {resolved} resolved, "
        f"{len(watch.active)} active now (GET /v1/alerts; pacer status lists them)."
    )
    return lines


_COLUMNS = ("city", "part", "new sites", "simulated", "quota", "status", "judged as of", "gigabit")


def record(
    scenario: Scenario, watch: AlertWatch, notifications: dict[str, int] | None, outcome: Outcome
) -> dict[str, Any]:
    """What ``--record`` writes: enough to check the story afterwards (the e2e test does)."""
    return {
        "seed": scenario.seed,
        "parts": {city: role for city, (role, _text) in parts(scenario.roles).items()},
        "skipped_period": str(scenario.roles.skipped_period),
        "alerts": [
            {
                "labels": alert.labels,
                "fired": alert.starts_at,
                "resolved": alert.resolved_at.isoformat() if alert.resolved_at else None,
            }
            for alert in watch.seen
        ],
        "notifications": notifications,
        "reports": {
            "accepted": outcome.accepted,
            "duplicates": outcome.duplicates,
            "rejected": len(outcome.rejected),
            "not_sent": len(outcome.unreachable),
            "after_due": len(outcome.after_due),
        },
    }


def notification_line(counts: dict[str, int] | None, alerting_url: str) -> str:
    """What the alerting service notified over the story (every webhook subscriber gets these,
    grouped), from its ``pacer_alert_notifications_total``."""
    if counts is None:
        return f"Notifications: {alerting_url}/metrics did not answer."
    events = ("firing", "resolved", "repeat")
    figures = ", ".join(f"{counts.get(event, 0)} {event}" for event in events)
    return (
        f"Notifications the alerting service decided: {sum(counts.values())} ({figures}; "
        f"pacer_alert_notifications_total on {alerting_url}/metrics)."
    )


def cities_table(
    progress: dict[str, Any], expected: dict[str, int], roles: Roles, program: str = "5g-2025"
) -> Table:
    """Each city's new sites on the server against what the simulation sent, its standing and
    the day it is judged on; the province last."""
    table = Table(title=f"Where the cities ended ({program})", title_justify="left")
    for column in _COLUMNS:
        table.add_column(
            column, justify="right" if column in ("new sites", "simulated") else "left"
        )
    cast = parts(roles)
    for city_id, city in progress["cities"].items():
        gigabit: dict[str, Any] = next(
            (p for p in city["programs"].values() if p.get("kind") == "indicator_thresholds"), {}
        )
        table.add_row(
            city_id,
            cast.get(city_id, ("", ""))[0],
            *_standing(city["programs"].get(program, {}), expected.get(city_id)),
            _status(str(gigabit.get("status", ""))),
        )
    province = progress.get("province", {}).get("programs", {}).get(program)
    if province is not None:
        table.add_section()
        total = sum(expected.values()) if expected else None
        table.add_row("province", "", *_standing(province, total), "")
    return table


def _standing(view: dict[str, Any], simulated: int | None) -> tuple[RenderableType, ...]:
    """new sites, simulated, quota, status and judged as of, from a site programme's view."""
    sites = view.get("sites", {})
    new = sites.get("new")
    return (
        f"{new:,}" if isinstance(new, int) else "-",
        Text(
            f"{simulated:,}" if simulated is not None else "-",
            style="green" if simulated == new else "bold red",
        ),
        f"{sites.get('target_new', 0):,}",
        _status(str(view.get("status", ""))),
        str(view.get("judged_as_of", "-")),
    )


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def totals_agree(progress: dict[str, Any], expected: dict[str, int], program: str) -> bool:
    return all(
        progress["cities"]
        .get(city, {})
        .get("programs", {})
        .get(program, {})
        .get("sites", {})
        .get("new")
        == count
        for city, count in expected.items()
    )
