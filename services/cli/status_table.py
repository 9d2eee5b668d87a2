"""The terminal view of ``pacer status``: a rich table of the cities, the province, the alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from shared.domain.calendar import PROVINCE_TZ

STATUS_STYLES = {
    "no_data": "dim",
    "on_track": "green",
    "at_risk": "yellow",
    "behind": "red",
    "met": "blue",
    "missed": "bold red",
}
SEVERITY_STYLES = {"critical": "bold red", "warning": "yellow"}
BAR_WIDTH = 16
SITE_ROLLOUT, SITE_DENSITY, INDICATORS = "site_rollout", "site_density", "indicator_thresholds"
UNVERIFIED_MARK = "*"
"""After a target built on the targets file's illustrative baselines or quotas."""


def _bar(completed: float, total: float, status: str) -> ProgressBar:
    style = STATUS_STYLES.get(status, "white")
    shown = min(max(completed, 0.0), total) if total > 0 else 0.0
    return ProgressBar(
        total=max(total, 1e-9),
        completed=shown,
        width=BAR_WIDTH,
        complete_style=style,
        finished_style=style,
    )


def _status_text(status: str) -> Text:
    return Text(status.replace("_", " "), style=STATUS_STYLES.get(status, ""))


def _cell(bar: ProgressBar, figures: str, status: str) -> RenderableType:
    """The bar with the status beside it, the figures under both."""
    top = Table.grid(padding=(0, 1))
    top.add_row(bar, _status_text(status))
    return Group(top, Text(figures, style="dim"))


def local_time(iso: str) -> str:
    """An ISO instant as the province's wall-clock time, to the minute."""
    try:
        instant = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return instant.astimezone(PROVINCE_TZ).strftime("%Y-%m-%d %H:%M")


def program_cell(program: dict[str, Any] | None) -> RenderableType:
    """A bar and its figures for one programme of one city (or of the province)."""
    if program is None:
        return Text("-", style="dim")
    status = str(program.get("status", ""))
    kind = program.get("kind")
    judged = f"as of {program['judged_as_of']}" if program.get("judged_as_of") else ""
    if kind in (SITE_ROLLOUT, SITE_DENSITY):
        new, target = program["sites"]["new"], program["sites"]["target_new"]
        planned = program["sites"]["planned_new_to_date"]
        figures = f"{new:,} of {target:,}{UNVERIFIED_MARK * _unverified(program)}"
        figures += f" · plan {planned:,.0f}"
        if kind == SITE_DENSITY:
            figures += f" · {float(program['density']['actual']):.1f}/10k"
        return _cell(_bar(new, target, status), f"{figures}\n{judged}", status)
    if kind == INDICATORS:
        passing, total = int(program["actual"]), int(program["target"])
        failing = [
            key.removesuffix("_pct")
            for key, ind in program.get("indicators", {}).items()
            if ind.get("passing") is False and ind.get("value") is not None
        ]
        cell = _cell(
            _bar(passing, total, status), f"{passing} of {total} passing\n{judged}", status
        )
        if failing:
            return Group(cell, Text("fails " + ", ".join(failing), style="red"))
        return cell
    return Text(status)


def _unverified(program: dict[str, Any]) -> bool:
    return program.get("baseline_verified") is False


def _overdue_cell(city: dict[str, Any]) -> Text:
    owed = [
        f"{kind} since {report.get('missing_since')}"
        + (f" ({report['missing_months']} months)" if report.get("missing_months", 0) > 1 else "")
        for kind, report in sorted(city.get("reports", {}).items())
        if report.get("overdue")
    ]
    return Text("\n".join(owed), style="red") if owed else Text("-", style="dim")


def _alerts_cell(count: int, severities: set[str]) -> Text:
    if not count:
        return Text("0", style="dim")
    style = SEVERITY_STYLES["critical" if "critical" in severities else "warning"]
    return Text(str(count), style=style)


def cities_table(document: dict[str, Any]) -> Table:
    programs = list(document["province"]["programs"])
    title = f"Pacer · Shandong as of {local_time(document['as_of'])} (Asia/Shanghai)"
    table = Table(title=title)
    table.add_column("city")
    for program in programs:
        table.add_column(program)
    table.add_column("overdue")
    table.add_column("alerts", justify="right")
    severities: dict[str | None, set[str]] = {}
    for alert in document["alerts"]:
        city_id = alert["labels"].get("city")
        severities.setdefault(city_id, set()).add(alert["labels"].get("severity", ""))
    for city_id, city in document["cities"].items():
        table.add_row(
            Text.assemble((city.get("name_en", city_id), "bold"), f"\n{city.get('name', '')}"),
            *(program_cell(city["programs"].get(p)) for p in programs),
            _overdue_cell(city),
            _alerts_cell(city["active_alerts"], severities.get(city_id, set())),
        )
    table.add_section()
    table.add_row(
        Text("Province", style="bold"),
        *(_province_cell(p, document) for p in programs),
        _province_overdue(document),
        _alerts_cell(
            document["province"]["active_alerts"], {a for s in severities.values() for a in s}
        ),
    )
    return table


def _province_cell(program_id: str, document: dict[str, Any]) -> RenderableType:
    program = document["province"]["programs"][program_id]
    if "cities_meeting_standard" not in program:
        return program_cell(program)
    met, total = int(program["cities_meeting_standard"]), int(program["cities"])
    statuses = {
        c["programs"].get(program_id, {}).get("status") for c in document["cities"].values()
    }
    # The province is as far along as its furthest-behind city.
    worst = ("missed", "behind", "at_risk", "no_data", "on_track")
    status = next((s for s in worst if s in statuses), "met")
    return _cell(_bar(met, total, status), f"{met} of {total} cities meet it", status)


def _province_overdue(document: dict[str, Any]) -> Text:
    late = sum(1 for city in document["cities"].values() if city["overdue"])
    return Text(f"{late} cities", style="red") if late else Text("-", style="dim")


def alerts_table(alerts: list[dict[str, Any]], limit: int) -> Table:
    """The active alerts, critical first, newest first; at most ``limit`` of them (0: all)."""
    shown = len(alerts) if limit <= 0 else min(limit, len(alerts))
    more = f", the {shown} most pressing shown" if shown < len(alerts) else ""
    table = Table(title=f"Active alerts: {len(alerts)}{more}", title_justify="left")
    for column in ("severity", "alert", "city", "about", "since", "summary"):
        table.add_column(column, overflow="fold")
    ordered = sorted(alerts, key=lambda a: str(a.get("startsAt", "")), reverse=True)
    ordered.sort(key=lambda a: a["labels"].get("severity") != "critical")
    for alert in ordered[:shown]:
        labels = alert["labels"]
        severity = labels.get("severity", "")
        about = labels.get("indicator") or labels.get("kind") or labels.get("program", "")
        table.add_row(
            Text(severity, style=SEVERITY_STYLES.get(severity, "")),
            labels.get("alertname", ""),
            labels.get("city", "province"),
            about,
            local_time(str(alert.get("startsAt", ""))),
            alert.get("annotations", {}).get("summary", ""),
        )
    return table


def render_status(console: Console, document: dict[str, Any], alert_limit: int = 0) -> None:
    console.print(cities_table(document))
    programs = document["province"]["programs"].values()
    if any(_unverified(p) for p in programs):
        console.print(
            Text(
                f"{UNVERIFIED_MARK} baselines and targets from the targets file's illustrative "
                "allocation, not verified official figures",
                style="dim",
            )
        )
    if document["alerts"]:
        console.print(alerts_table(document["alerts"], alert_limit))
    else:
        console.print(Text("No active alerts.", style="green"))
