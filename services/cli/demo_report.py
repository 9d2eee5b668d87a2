"""What ``pacer demo`` tells the newcomer: the story it plays, what happened, where to look."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from services.cli.demo_alerts import AlertWatch, SeenAlert
from services.cli.demo_simulation import FAILING_INDICATOR, Roles
from services.cli.status_table import STATUS_STYLES
from shared.domain.calendar import PROVINCE_TZ

ROLE_ALERTS = {
    "lagging": ("FiveGBehindPlan", "FiveGTargetMissed"),
    "recovering": ("FiveGBehindPlan", "FiveGTargetMissed"),
    "skipping": ("ReportOverdue",),
    "gigabit_failing": ("GigabitIndicatorBelowThreshold", "GigabitStandardNotMet"),
}


def parts(roles: Roles) -> dict[str, tuple[str, str]]:
    """city -> (role, what it does in the story)."""
    return {
        roles.lagging: ("lagging", "slows down after a good first quarter and stays behind plan"),
        roles.recovering: ("recovering", "falls behind in 2024, catches up from October"),
        roles.skipping: (
            "skipping",
            f"misses the due day of its {roles.skipped_period} reports, submits them late",
        ),
        roles.gigabit_failing: (
            "gigabit_failing",
            f"keeps {FAILING_INDICATOR} under the threshold of 80",
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
        f"The story (seed {seed}): 16 cities report new 5G sites and gigabit indicators monthly, "
        "early the next month; most build at or above plan. Four have a part:"
    ]
    lines += [f"  [bold]{city}[/] {text}" for city, (_role, text) in parts(roles).items()]
    lines.append(
        "  [dim]In the first months every city looks behind plan: a month's sites are reported "
        "early the next month, and the plan-to-date counts every day up to now.[/]"
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
    for city, (role, text) in parts(roles).items():
        lines.append(f"  [bold]{city}[/] ({text}):")
        episodes = [a for a in watch.seen if a.city == city and a.name in ROLE_ALERTS[role]]
        lines += [f"    {_episode(a)}" for a in episodes] or ["    (none seen)"]
    resolved = sum(1 for a in watch.seen if a.resolved_at is not None)
    lines.append(
        f"  In all: {len(watch.seen)} alerts fired, {resolved} resolved, "
        f"{len(watch.active)} active now (GET /v1/alerts; pacer status lists them)."
    )
    return lines


def cities_table(
    progress: dict[str, Any], expected: dict[str, int], roles: Roles, program: str = "5g-2025"
) -> Table:
    """Each city's new sites on the server against what the simulation sent."""
    table = Table(title=f"Where the cities ended ({program})", title_justify="left")
    for column in ("city", "part", "new sites", "simulated", "quota", "status", "gigabit"):
        table.add_column(
            column, justify="right" if column in ("new sites", "simulated") else "left"
        )
    cast = parts(roles)
    for city_id, city in progress["cities"].items():
        rollout = city["programs"].get(program, {})
        gigabit: dict[str, Any] = next(
            (p for p in city["programs"].values() if p.get("kind") == "indicator_thresholds"), {}
        )
        gigabit_status = str(gigabit.get("status", ""))
        new = rollout.get("sites", {}).get("new")
        simulated = expected.get(city_id)
        status = str(rollout.get("status", ""))
        table.add_row(
            city_id,
            cast.get(city_id, ("", ""))[0],
            f"{new:,}" if isinstance(new, int) else "-",
            Text(
                f"{simulated:,}" if simulated is not None else "-",
                style="green" if simulated == new else "bold red",
            ),
            f"{rollout.get('sites', {}).get('target_new', 0):,}",
            Text(status, style=STATUS_STYLES.get(status, "")),
            Text(gigabit_status, style=STATUS_STYLES.get(gigabit_status, "")),
        )
    return table


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
