"""Pacer's Grafana dashboards as code: compact panel definitions in, Grafana 11.6 JSON out.

    python deploy/grafana/build_dashboards.py          # rewrite deploy/grafana/dashboards/*.json
    python deploy/grafana/build_dashboards.py --check  # exit 1 if the committed JSON is stale

The JSON files are committed (Grafana provisions them from files); this script is their source,
and tests/ops/test_dashboards.py fails when the two differ.

Query conventions:
- Exporter gauges are wrapped in ``max by (<their labels>)``: every exporter replica reports the
  same numbers from the shared state, so this keeps one copy per city however many replicas
  Prometheus scrapes, and drops ``__name__``/``instance``/``job`` so tables can merge queries.
- Province totals come from the recording rules in deploy/prometheus/rules/pacer-recording.yml.
- Report ages are measured against ``pacer_exporter_clock_timestamp_seconds`` (Pacer's clock,
  which may be fixed or offset), never ``time()``.
- Every programme figure (new, planned, attainment, status, indicator values) is as of the city's
  judgement day D (contract §1.1), not "now": the panels that show one say so, and the judgement
  day itself is shown as a date.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Json = dict[str, Any]

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
DATASOURCE: Json = {"type": "prometheus", "uid": "pacer-prometheus"}
SCHEMA_VERSION = 41  # what Grafana 11.6 writes; older versions would be migrated on load
GRID_WIDTH = 24

CITY_DASHBOARD_LINK: Json = {
    "title": "City dashboard: ${__field.labels.city}",
    "url": "/d/pacer-city/pacer-city?var-city=${__field.labels.city}&${__url_time_range}",
}
ATTAINMENT_STEPS = [("red", None), ("orange", 0.75), ("green", 0.9)]  # contract §1 tolerances
# Grey for "nothing to judge": none of Grafana's named colours is a neutral grey.
NO_DATA_COLOUR = "#8e8e8e"
# Every value of pacer_program_status's status label (tests/ops/test_dashboards.py holds every
# status mapping to shared.domain.plan.ALL_STATUSES).
STATUS_COLOURS = {
    "no_data": ("no data", NO_DATA_COLOUR),
    "on_track": ("on track", "green"),
    "at_risk": ("at risk", "orange"),
    "behind": ("behind", "red"),
    "met": ("met", "blue"),
    "missed": ("missed", "dark-red"),
}
# Days since a city's latest report of a kind. A report for month M is due on the 10th of M+1, so
# a city reporting promptly never goes much past a month; past 41 days it is certainly overdue
# (the ReportOverdue alert, from Pacer's reporting calendar, is the authority).
REPORT_AGE_STEPS = [("green", None), ("orange", 31), ("red", 41)]
# Alertmanager's UI, filtered on the city label (the URL comes from a dashboard variable).
ALERTMANAGER_CITY_FILTER = (
    "${alertmanager_url}/#/alerts?silenced=false&inhibited=false&active=true"
    "&filter=%7Bcity%3D%22$city%22%7D"
)
AGE_DAYS = "(scalar(max(pacer_exporter_clock_timestamp_seconds)) - {received}) / 86400"
GIGABIT_PROGRAM = "gigabit-2024"
# pacer_program_judged_as_of_timestamp_seconds is the END of day D (00:00 of the next day,
# Asia/Shanghai): one day less is 00:00 of D itself, which a date format in the dashboards' time
# zone prints as D (printing the gauge as it is would show the day after D).
JUDGED_DAY = (
    "(max by ({by}) (pacer_program_judged_as_of_timestamp_seconds{selector}) - 86400) * 1000"
)
DATE_UNIT = "time:YYYY-MM-DD"  # Grafana's custom date format unit, on milliseconds
MONTH_UNIT = "time:YYYY-MM"


# --- queries and field settings ---------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = "__auto"
    table: bool = False
    """An instant query in table format (for tables and merged columns)."""


def thresholds(steps: Sequence[tuple[str, float | None]]) -> Json:
    return {
        "mode": "absolute",
        "steps": [{"color": colour, "value": value} for colour, value in steps],
    }


def value_mappings(texts: dict[str, tuple[str, str]]) -> list[Json]:
    """One value mapping: raw value -> (display text, colour)."""
    return [
        {
            "type": "value",
            "options": {
                raw: {"text": text, "color": colour, "index": index}
                for index, (raw, (text, colour)) in enumerate(texts.items())
            },
        }
    ]


# Pass/fail, and -1 from ``passing_or_unreported`` for an indicator the city has no value of.
PASS_FAIL_UNREPORTED = value_mappings(
    {"1": ("pass", "green"), "0": ("fail", "red"), "-1": ("not reported", NO_DATA_COLOUR)}
)
YES_NO = value_mappings({"1": ("yes", "text"), "0": ("no", "orange")})
UP_DOWN = value_mappings({"1": ("up", "green"), "0": ("down", "red")})
MET_NOT_MET = value_mappings({"1": ("met", "green"), "0": ("not met", "red")})


def passing_or_unreported(by: str, selector: str = "") -> str:
    """pacer_gigabit_indicator_passing, with -1 instead of 0 where the city has no value in force
    for the indicator: the standard counts it as failing, but a city that has not reported (a
    no_data city: every indicator) should not read as failing every threshold."""
    passing = f"max by ({by}) (pacer_gigabit_indicator_passing{selector})"
    return (
        f"({passing} and on ({by}) pacer_gigabit_indicator_value{selector}) or ({passing} * 0 - 1)"
    )


def unless_no_data(expr: str, selector: str, program: str) -> str:
    """``expr``, or nothing (Grafana prints "No data") while the city has no report feeding
    ``program`` (its status is no_data)."""
    status = f'pacer_program_status{{{selector}, program="{program}", status="no_data"}}'
    return f"{expr} unless on () (max({status}) == 1)"


def override(matcher: str, name: str, **properties: Any) -> Json:
    """Field override; ``matcher`` is byName (display name) or byFrameRefID (query refId)."""
    return {
        "matcher": {"id": matcher, "options": name},
        "properties": [{"id": key.replace("__", "."), "value": v} for key, v in properties.items()],
    }


def dashed(ref_id: str, colour: str) -> Json:
    return override(
        "byFrameRefID",
        ref_id,
        color={"mode": "fixed", "fixedColor": colour},
        custom__lineStyle={"fill": "dash", "dash": [10, 10]},
        custom__fillOpacity=0,
    )


def fixed_colour(matcher: str, name: str, colour: str) -> Json:
    return override(matcher, name, color={"mode": "fixed", "fixedColor": colour})


def merge_and_organize(rename: dict[str, str], exclude: Iterable[str] = ("Time",)) -> list[Json]:
    """Join instant table queries on their common labels, then hide and rename columns."""
    return [
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {
                "excludeByName": {name: True for name in exclude},
                "renameByName": rename,
                "indexByName": {},
            },
        },
    ]


def matrix(rows: str, columns: str, cell: str) -> list[Json]:
    """Pivot a long table into a rows-by-columns matrix; the corner cell is renamed ``rows``."""
    return [
        {
            "id": "groupingToMatrix",
            "options": {
                "rowField": rows,
                "columnField": columns,
                "valueField": cell,
                "emptyValue": "null",
            },
        },
        {"id": "organize", "options": {"renameByName": {f"{rows}\\{columns}": rows}}},
    ]


# --- panels -------------------------------------------------------------------------------------


def _targets(queries: Sequence[Query]) -> list[Json]:
    targets = []
    for index, query in enumerate(queries):
        target: Json = {
            "refId": chr(ord("A") + index),
            "datasource": DATASOURCE,
            "editorMode": "code",
            "expr": query.expr,
            "legendFormat": query.legend,
            "range": not query.table,
            "instant": query.table,
        }
        if query.table:
            target["format"] = "table"
        targets.append(target)
    return targets


def _panel(
    kind: str,
    title: str,
    description: str,
    queries: Sequence[Query],
    size: tuple[int, int],
    defaults: Json,
    options: Json,
    overrides: Sequence[Json] = (),
    transformations: Sequence[Json] = (),
) -> Json:
    panel: Json = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"w": size[0], "h": size[1]},
        "targets": _targets(queries),
        "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
        "options": options,
    }
    if transformations:
        panel["transformations"] = list(transformations)
    return panel


def _defaults(
    unit: str,
    steps: Sequence[tuple[str, float | None]],
    mappings: Sequence[Json],
    colour_mode: str,
    **extra: Any,
) -> Json:
    return {
        "unit": unit,
        "color": {"mode": colour_mode},
        "thresholds": thresholds(steps),
        "mappings": list(mappings),
        **extra,
    }


def timeseries(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    size: tuple[int, int] = (12, 8),
    unit: str = "short",
    overrides: Sequence[Json] = (),
    threshold_line: float | None = None,
    stacked: bool = False,
    bars: bool = False,
    minimum: float | None = None,
) -> Json:
    steps: list[tuple[str, float | None]] = [("green", None)]
    if threshold_line is not None:
        steps.append(("red", threshold_line))
    custom: Json = {
        "drawStyle": "bars" if bars else "line",
        "lineWidth": 2,
        "fillOpacity": 60 if bars else 10,
        "showPoints": "never",
        "spanNulls": True,
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
        "thresholdsStyle": {"mode": "off" if threshold_line is None else "dashed"},
    }
    extra: Json = {"custom": custom}
    if minimum is not None:
        extra["min"] = minimum
    return _panel(
        "timeseries",
        title,
        description,
        queries,
        size,
        _defaults(unit, steps, [], "palette-classic", **extra),
        {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        overrides,
    )


def stat(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    size: tuple[int, int] = (6, 4),
    unit: str = "short",
    steps: Sequence[tuple[str, float | None]] = (("green", None),),
    mappings: Sequence[Json] = (),
    decimals: int | None = None,
    overrides: Sequence[Json] = (),
) -> Json:
    extra: Json = {} if decimals is None else {"decimals": decimals}
    return _panel(
        "stat",
        title,
        description,
        queries,
        size,
        _defaults(unit, steps, mappings, "thresholds", **extra),
        {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
            "wideLayout": True,
            "showPercentChange": False,
        },
        overrides,
    )


def bargauge(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    size: tuple[int, int] = (10, 12),
    unit: str = "percentunit",
    steps: Sequence[tuple[str, float | None]] = ATTAINMENT_STEPS,
    maximum: float | None = None,
    links: Sequence[Json] = (),
) -> Json:
    extra: Json = {"min": 0, "links": list(links)}
    if maximum is not None:
        extra["max"] = maximum
    return _panel(
        "bargauge",
        title,
        description,
        queries,
        size,
        _defaults(unit, steps, [], "thresholds", **extra),
        {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal",
            "displayMode": "gradient",
            "valueMode": "color",
            "namePlacement": "left",
            "showUnfilled": True,
            "sizing": "auto",
            "minVizHeight": 16,
            "minVizWidth": 8,
            "maxVizHeight": 300,
        },
    )


def table(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    transformations: Sequence[Json],
    size: tuple[int, int] = (12, 8),
    unit: str = "short",
    mappings: Sequence[Json] = (),
    steps: Sequence[tuple[str, float | None]] = (("transparent", None),),
    cell: str = "auto",
    overrides: Sequence[Json] = (),
    sort_by: str | None = None,
    filterable: bool = False,
) -> Json:
    custom = {
        "align": "auto",
        "cellOptions": {"type": cell} if cell == "auto" else {"type": cell, "mode": "basic"},
        "filterable": filterable,
        "inspect": False,
    }
    options: Json = {
        "showHeader": True,
        "cellHeight": "sm",
        "footer": {"show": False, "reducer": ["sum"], "fields": "", "countRows": False},
    }
    if sort_by is not None:
        options["sortBy"] = [{"displayName": sort_by, "desc": False}]
    return _panel(
        "table",
        title,
        description,
        queries,
        size,
        _defaults(unit, steps, mappings, "thresholds", custom=custom),
        options,
        overrides,
        transformations,
    )


def latest_reports_table(
    title: str,
    description: str,
    *,
    by: str,
    selector: str,
    size: tuple[int, int],
    sort_by: str,
    filterable: bool = False,
) -> Json:
    """When the latest report of each kind arrived, its age on Pacer's clock, and the latest month
    reported (a late report for an old month is received recently but reports an old month)."""
    received = f"max by ({by}) (pacer_report_last_received_timestamp_seconds{selector})"
    return table(
        title,
        description,
        [
            Query(f"{received} * 1000", table=True),
            Query(AGE_DAYS.format(received=received), table=True),
            Query(f"max by ({by}) (pacer_report_latest_period{selector}) * 1000", table=True),
        ],
        transformations=merge_and_organize(
            {"Value #A": "last received", "Value #B": "age (days)", "Value #C": "latest month"}
        ),
        size=size,
        overrides=[
            override("byName", "last received", unit="dateTimeAsIso"),
            override("byName", "latest month", unit=MONTH_UNIT),
            override(
                "byName",
                "age (days)",
                decimals=1,
                thresholds=thresholds(REPORT_AGE_STEPS),
                custom__cellOptions={"type": "color-text"},
            ),
        ],
        sort_by=sort_by,
        filterable=filterable,
    )


def text(title: str, markdown: str, *, size: tuple[int, int] = (12, 8)) -> Json:
    return {
        "type": "text",
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"w": size[0], "h": size[1]},
        "options": {"mode": "markdown", "content": markdown.strip()},
    }


def row(title: str) -> Json:
    return {
        "type": "row",
        "title": title,
        "datasource": DATASOURCE,
        "collapsed": False,
        "gridPos": {"w": GRID_WIDTH, "h": 1},
        "panels": [],
    }


def layout(panels: Sequence[Json]) -> list[Json]:
    """Ids 1, 2, ... in order; panels fill the grid left to right, a row header starts a line."""
    placed = []
    x = y = line_height = 0
    for panel_id, panel in enumerate(panels, start=1):
        width, height = panel["gridPos"]["w"], panel["gridPos"]["h"]
        if panel["type"] == "row" or x + width > GRID_WIDTH:
            x, y, line_height = 0, y + line_height, 0
        placed.append(
            {"id": panel_id, **panel, "gridPos": {"x": x, "y": y, "w": width, "h": height}}
        )
        x, line_height = x + width, max(line_height, height)
        if panel["type"] == "row":
            x, y, line_height = 0, y + height, 0
    return placed


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: Sequence[Json],
    *,
    variables: Sequence[Json] = (),
    time_from: str = "now-7d",
    links: Sequence[Json] = (),
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["pacer"],
        "timezone": "Asia/Shanghai",
        "editable": False,
        "graphTooltip": 1,
        "refresh": "1m",
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "annotations": {"list": []},
        "links": [
            {
                "title": "Pacer dashboards",
                "type": "dashboards",
                "tags": ["pacer"],
                "asDropdown": True,
                "includeVars": False,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            },
            *links,
        ],
        "templating": {"list": list(variables)},
        "panels": layout(panels),
    }


# --- the Province dashboard ---------------------------------------------------------------------

SITE_PROGRAM = 'program="5g-2025"'  # the programme the province's headline panels follow

READING_THE_FIGURES = """
#### Reading these figures

- **As of the judgement day, not today.** Every figure of a city (new sites, plan, attainment,
  status, indicator values) is as of the day its reports cover: its *judgement day* (the table
  beside this text). A month's reports arrive by the 10th of the next month, so cities can stand
  on different days while they come in; one that stops reporting is judged on the last day of
  the latest month past due, with what it sent.
- **no data**: the city has sent no report of the kind the programme feeds on. It has no
  attainment (no bar), and the only alert it raises is `ReportOverdue`. The province totals
  count its new sites as 0 against its plan.
- **met / missed** are decided only once the judgement day reaches the deadline (December's
  reports are due on 10 January). Until then a programme stays on track, at risk or behind;
  `gigabit-2024` follows the share of its thresholded indicators passing.
- **Illustrative** (top right): the per-city baselines and quotas are the shipped allocation of
  the province figures by population, not official figures, until an operator replaces them in
  the targets file. Every city's 5G target, plan and attainment rests on them.
"""


def province() -> Json:
    return dashboard(
        "pacer-province",
        "Pacer · Province overview",
        "Shandong at a glance: 5G sites against plan, attainment, status and judgement day per "
        "city, the gigabit-city matrix, overdue reports and active alerts. Each city's figures "
        "are as of the day its reports cover.",
        [
            *_province_headline(),
            row("5G sites: 5g-2025 (70,000 new sites by 2025-12-31)"),
            *_province_sites(),
            row("Status and judgement day"),
            *_province_status(),
            row("The gigabit-city standard"),
            *_province_gigabit(),
            row("Reports"),
            *_province_reports(),
            row("Alerts"),
            *_province_alerts(),
            *province_history(),
        ],
        time_from="now-30d",
    )


def _province_headline() -> list[Json]:
    """Sites, attainment, gigabit cities, alerts, cities without data and how far the targets
    can be trusted, in one line."""
    return [
        stat(
            "5G sites in service",
            "Province total: every city's baseline (illustrative while 'Baselines and targets' "
            "says so) plus the in-service sites it has reported.",
            [Query("pacer:province_5g_sites_in_service:sum", "in service")],
            size=(4, 4),
            steps=[("blue", None)],
        ),
        stat(
            "5g-2025 attainment (province)",
            "The cities' new sites over their plan, each city at its own judgement day (a city "
            "without data counts 0 new sites against its plan). Warning under 90 %, critical "
            "under 75 %. GET /v1/progress judges the province at one day, the earliest every "
            "reporting city covers, so while a month's reports come in its figure can differ "
            "a little from this one.",
            [Query(f"pacer:province_5g_attainment:ratio{{{SITE_PROGRAM}}}", "attainment")],
            size=(4, 4),
            unit="percentunit",
            steps=ATTAINMENT_STEPS,
            decimals=1,
        ),
        stat(
            "Cities meeting the gigabit standard",
            "Cities whose every thresholded gigabit indicator passes on its value in force at "
            "the city's judgement day (of 16; a city without data does not meet it).",
            [Query("pacer:province_gigabit_cities_met:sum", "cities")],
            size=(4, 4),
            steps=[("red", None), ("orange", 12), ("green", 16)],
        ),
        stat(
            "Active alerts by severity",
            "Pacer's target-slip alerts now firing (all cities), by severity.",
            [Query("pacer:alerts_firing:sum", "{{severity}}")],
            size=(4, 4),
            steps=[("green", None), ("orange", 1)],
            overrides=[
                override(
                    "byName",
                    "critical",
                    thresholds=thresholds([("green", None), ("red", 1)]),
                )
            ],
        ),
        stat(
            "Cities with no data",
            "Cities with no report of the kind each programme feeds on (status no_data): no "
            "attainment, only ReportOverdue. The 5G programmes share the 5g-sites reports.",
            [
                Query(
                    "sum by (program) (max by (city, program)"
                    ' (pacer_program_status{status="no_data"}))',
                    "{{program}}",
                )
            ],
            size=(4, 4),
            steps=[("green", None), ("orange", 1)],
        ),
        stat(
            "Baselines and targets",
            "Whether the site programmes' per-city baselines and targets are official figures. "
            "'illustrative' while the targets file holds the shipped allocation of the province "
            "figures by population (verified: false): every city's in-service count, target, "
            "plan and attainment rests on them, and 5g-2027's city targets are the province's "
            "density decomposed by city. An operator replaces them in the targets file.",
            [Query("max by (program) (pacer_program_baseline_verified)", "{{program}}")],
            size=(4, 4),
            mappings=value_mappings({"1": ("verified", "green"), "0": ("illustrative", "orange")}),
        ),
    ]


def _province_sites() -> list[Json]:
    """The province's burn-up against plan and target, and attainment per city."""
    return [
        timeseries(
            "Province 5G new sites vs plan (5g-2025)",
            "Burn-up: the cities' new in-service sites since 2024-01-01 and their plan "
            "(dashed), each city at its judgement day, so both lines step when a month's "
            "reports arrive or fall due; the target (dashed red) is the sum of the city quotas "
            "(illustrative while 'Baselines and targets' says so). The province also needs "
            "more than 270,000 sites in service. The gap between the first two is the "
            "shortfall.",
            [
                Query(f"pacer:province_5g_sites_new:sum{{{SITE_PROGRAM}}}", "new sites"),
                Query(
                    f"pacer:province_5g_sites_planned_new:sum{{{SITE_PROGRAM}}}",
                    "plan to date",
                ),
                Query(f"pacer:province_5g_sites_target_new:sum{{{SITE_PROGRAM}}}", "target"),
            ],
            size=(14, 12),
            minimum=0,
            overrides=[dashed("B", "orange"), dashed("C", "red")],
        ),
        bargauge(
            "5g-2025 attainment per city",
            "New sites over the plan at each city's judgement day, worst first. Orange under "
            "90 % (warning), red under 75 % (critical). A city with no 5g-sites report has no "
            "bar (no data). Click a bar for the city dashboard.",
            [
                Query(
                    f"sort(max by (city) (pacer_program_attainment_ratio{{{SITE_PROGRAM}}}))",
                    "{{city}}",
                )
            ],
            links=[CITY_DASHBOARD_LINK],
        ),
    ]


def _province_status() -> list[Json]:
    """Each city's status per programme, the day it is judged on, and how to read both."""
    return [
        table(
            "Status per city and program",
            "Each city's status on every program at its judgement day (next table): no data, "
            "on track, at risk, behind, met, missed. Met and missed come only with the final "
            "judgement, once the judgement day reaches the deadline.",
            [
                Query(
                    "max by (city, program, status) (pacer_program_status == 1)",
                    table=True,
                )
            ],
            transformations=matrix("city", "program", "status"),
            size=(8, 14),
            mappings=value_mappings(STATUS_COLOURS),
            cell="color-background",
            sort_by="city",
        ),
        table(
            "Judgement day per city and program",
            "The day each city's figures on each program are as of (contract §1.1): the later "
            "of the last day of the latest required month whose report is past due and the "
            "as_of of the city's latest report of the kind, held at the program's deadline. "
            "A no-data city stands on the first of those.",
            [
                Query(
                    JUDGED_DAY.format(by="city, program", selector=""),
                    table=True,
                )
            ],
            transformations=matrix("city", "program", "Value"),
            size=(8, 14),
            unit=DATE_UNIT,
            sort_by="city",
        ),
        text("Reading these figures", READING_THE_FIGURES, size=(8, 14)),
    ]


def _province_gigabit() -> list[Json]:
    """Who passes which gigabit indicator, and on what values."""
    return [
        table(
            "Gigabit matrix: pass/fail by city and indicator",
            "Whether each city's value of each thresholded indicator in force at its judgement "
            "day meets the MIIT gigabit-city threshold (bb_1000m_users is tracked without a "
            "threshold). 'not reported': the city has no value in force; the standard counts "
            "it as failing.",
            [Query(passing_or_unreported("city, indicator"), table=True)],
            transformations=matrix("city", "indicator", "Value"),
            size=(24, 14),
            mappings=PASS_FAIL_UNREPORTED,
            cell="color-background",
            sort_by="city",
        ),
        table(
            "Gigabit indicators: values against thresholds",
            "Every city's value of every indicator in force at its judgement day, the threshold "
            "and the result. Filter by city or indicator from the column headers.",
            [
                Query("max by (city, indicator) (pacer_gigabit_indicator_value)", table=True),
                Query(
                    "max by (city, indicator) (0 * pacer_gigabit_indicator_passing"
                    " + on (indicator) group_left max by (indicator)"
                    " (pacer_gigabit_indicator_threshold))",
                    table=True,
                ),
                Query(passing_or_unreported("city, indicator"), table=True),
            ],
            transformations=merge_and_organize(
                {"Value #A": "value", "Value #B": "threshold", "Value #C": "result"}
            ),
            size=(24, 10),
            overrides=[
                override(
                    "byName",
                    "result",
                    mappings=PASS_FAIL_UNREPORTED,
                    custom__cellOptions={"type": "color-background", "mode": "basic"},
                )
            ],
            sort_by="result",
            filterable=True,
        ),
    ]


def _province_reports() -> list[Json]:
    """Overdue reports and when each city last reported."""
    return [
        stat(
            "Reports overdue",
            "City reports of a kind (gigabit, 5g-sites) missing for the latest required month "
            "past its due day (the 10th of the next month): the ReportOverdue alerts firing, "
            "one per city and kind.",
            [
                Query(
                    "sum(max by (alertname, severity) "
                    '(pacer_alerts_firing{alertname="ReportOverdue"}))',
                    "overdue",
                )
            ],
            size=(5, 10),
            steps=[("green", None), ("orange", 1)],
        ),
        latest_reports_table(
            "Latest report per city and kind",
            "When each city's latest applied report of each kind arrived, its age in days on "
            "Pacer's clock, and the latest month the city has reported. A city that never "
            "reported is missing here (and overdue).",
            by="city, kind",
            selector="",
            size=(19, 10),
            sort_by="city",
            filterable=True,
        ),
    ]


def _province_alerts() -> list[Json]:
    """What fires now and over time."""
    return [
        timeseries(
            "Active alerts by severity",
            "Pacer's target-slip alerts firing over time, by severity (stacked).",
            [Query("pacer:alerts_firing:sum", "{{severity}}")],
            stacked=True,
            minimum=0,
            overrides=[
                fixed_colour("byName", "warning", "orange"),
                fixed_colour("byName", "critical", "red"),
            ],
        ),
        table(
            "Alerts firing now, by name",
            "How many alerts of each name and severity fire now. The per-city alerts with "
            "their numbers are in Alertmanager (and GET /v1/alerts).",
            [
                Query(
                    "max by (alertname, severity) (pacer_alerts_firing) > 0",
                    table=True,
                )
            ],
            transformations=merge_and_organize({"Value": "firing"}),
            sort_by="alertname",
        ),
    ]


# --- the City dashboard -------------------------------------------------------------------------

HERE = 'city="$city"'  # the city the dashboard's variable selects


def city() -> Json:
    return dashboard(
        "pacer-city",
        "Pacer · City",
        "One city: its programs against plan and target, its gigabit indicators against the "
        "thresholds, its latest reports and where to find its alerts.",
        [
            *_city_headline(),
            row("Programs"),
            *_city_programs(),
            row("Gigabit indicators"),
            *_city_gigabit(),
            row("Reports and alerts"),
            *_city_reports_and_alerts(),
            *city_history(),
        ],
        variables=_city_variables(),
        time_from="now-30d",
        links=[
            {
                "title": "Alertmanager",
                "type": "link",
                "url": "${alertmanager_url}",
                "icon": "bolt",
                "targetBlank": True,
                "asDropdown": False,
                "includeVars": False,
                "keepTime": False,
                "tags": [],
                "tooltip": "Pacer's alerts, with their city labels",
            }
        ],
    )


def _city_variables() -> list[Json]:
    """The city to show (from the exporter's city labels) and where Alertmanager's UI is."""
    variable: Json = {
        "name": "city",
        "label": "City",
        "type": "query",
        "datasource": DATASOURCE,
        "definition": "label_values(pacer_5g_sites_in_service, city)",
        "query": {
            "qryType": 1,
            "query": "label_values(pacer_5g_sites_in_service, city)",
            "refId": "PrometheusVariableQueryEditor-VariableQuery",
        },
        "refresh": 1,
        "regex": "",
        "sort": 1,
        "multi": False,
        "includeAll": False,
        "current": {"text": "jinan", "value": "jinan"},
        "options": [],
        "hide": 0,
    }
    alertmanager: Json = {
        "name": "alertmanager_url",
        "label": "Alertmanager URL",
        "type": "textbox",
        "query": "http://127.0.0.1:9093",
        "current": {"text": "http://127.0.0.1:9093", "value": "http://127.0.0.1:9093"},
        "options": [],
        "hide": 0,
    }
    return [variable, alertmanager]


def _burn_up(program: str, what: str) -> Json:
    selector = f'{HERE}, program="{program}"'
    return timeseries(
        f"{program}: new sites vs plan and target",
        f"{what} New in-service sites and the plan (dashed) at the city's judgement day, so "
        "both step when a report arrives or a month falls due, and the target (dashed red, "
        "illustrative while 'target verified' says no).",
        [
            Query(f"max(pacer_5g_sites_new{{{selector}}})", "new sites"),
            Query(f"max(pacer_5g_sites_planned_new{{{selector}}})", "plan to date"),
            Query(f"max(pacer_5g_sites_target_new{{{selector}}})", "target"),
        ],
        size=(12, 9),
        minimum=0,
        overrides=[dashed("B", "orange"), dashed("C", "red")],
    )


CITY_ALERTS_MARKDOWN = """
#### Alerts for $city

Pacer's target-slip alerts (`FiveGBehindPlan`, `FiveGProjectedMiss`, `FiveGTargetMissed`,
`GigabitIndicatorBelowThreshold`, `GigabitStandardNotMet`, `ReportOverdue`) carry a `city` label
in **Alertmanager**. Prometheus only counts them by name and severity (`pacer_alerts_firing`), so
this dashboard cannot list one city's alerts; open them here:

- [$city's alerts in Alertmanager]({ALERTMANAGER_CITY_FILTER})
  (set the Alertmanager URL at the top if yours differs)
- Pacer API, any token: `GET /v1/alerts` lists every active alert with its labels and numbers.

The statistics at the top are the conditions those alerts fire on: programs at risk or behind,
indicators failing, and the age of the latest report. Like the alerts, they are as of the city's
judgement day (the day its reports cover, under Programs), not today.
""".replace("{ALERTMANAGER_CITY_FILTER}", ALERTMANAGER_CITY_FILTER)


def _city_headline() -> list[Json]:
    """The conditions the city's alerts fire on, in one line."""
    return [
        stat(
            "5G sites in service",
            "Baseline (illustrative while 'target verified' under Programs says no) plus every "
            "in-service site the city has reported, up to today: once 5g-2025 is held at its "
            "deadline this runs ahead of its new sites.",
            [Query(f"max(pacer_5g_sites_in_service{{{HERE}}})", "in service")],
            size=(4, 4),
            steps=[("blue", None)],
        ),
        stat(
            "5G sites per 10,000 residents",
            "Pacer's own figure from the site records and the (illustrative) baseline; 5g-2027 "
            "asks for 30 by 2027-12-31.",
            [Query(f"max(pacer_5g_sites_per_10k{{{HERE}}})", "per 10k")],
            size=(4, 4),
            steps=[("orange", None), ("green", 30)],
            decimals=1,
        ),
        stat(
            "Programs at risk, behind or missed",
            "Programs whose status at their judgement day is at_risk, behind or missed "
            "(FiveGBehindPlan and FiveGTargetMissed fire on these); a program with no data is "
            "not counted (Status per program shows it).",
            [
                Query(
                    "sum(max by (program, status) (pacer_program_status"
                    f'{{{HERE}, status=~"at_risk|behind|missed"}}))',
                    "programs",
                )
            ],
            size=(4, 4),
            steps=[("green", None), ("red", 1)],
        ),
        stat(
            "Gigabit standard",
            "Met when every thresholded indicator passes on its value in force at the city's "
            "judgement day; 'No data' while the city has sent no gigabit report.",
            [
                Query(
                    unless_no_data(
                        f"max(pacer_gigabit_standard_met{{{HERE}}})", HERE, GIGABIT_PROGRAM
                    ),
                    "standard",
                )
            ],
            size=(4, 4),
            steps=[("red", None), ("green", 1)],
            mappings=MET_NOT_MET,
        ),
        stat(
            "Gigabit indicators failing",
            "Thresholded indicators whose value in force at the city's judgement day fails (or "
            "was never reported); 'No data' while the city has sent no gigabit report.",
            [
                Query(
                    unless_no_data(
                        f"sum(1 - max by (indicator) (pacer_gigabit_indicator_passing{{{HERE}}}))",
                        HERE,
                        GIGABIT_PROGRAM,
                    ),
                    "failing",
                )
            ],
            size=(4, 4),
            steps=[("green", None), ("red", 1)],
        ),
        stat(
            "Oldest latest report (days)",
            "Age of the older of the city's two latest reports (gigabit, 5g-sites) on Pacer's "
            "clock. Past about 41 days the city is certainly overdue.",
            [
                Query(
                    "max("
                    + AGE_DAYS.format(
                        received="max by (kind) "
                        f"(pacer_report_last_received_timestamp_seconds{{{HERE}}})"
                    )
                    + ")",
                    "days",
                )
            ],
            size=(4, 4),
            steps=REPORT_AGE_STEPS,
            decimals=1,
        ),
    ]


def _city_programs() -> list[Json]:
    """Each programme's attainment, status and judgement day, sites and burn-up."""
    return [
        bargauge(
            "Attainment per program",
            "At each program's judgement day: new over planned new sites for 5g-2025 and "
            "5g-2027 (both on the increment since the start), the share of thresholded "
            "indicators passing for gigabit-2024. Orange under 90 %, red under 75 %. A program "
            "with no data has no bar.",
            [
                Query(
                    f"max by (program) (pacer_program_attainment_ratio{{{HERE}}})",
                    "{{program}}",
                )
            ],
            size=(7, 8),
        ),
        table(
            "Status per program",
            "The city's status on each program at its judgement day: the day its figures are "
            "as of (the later of the last day of the latest month whose report is past due and "
            "its latest report's as_of, held at the deadline). Met and missed come only once "
            "the judgement day reaches the deadline.",
            [
                Query(
                    f"max by (program, status) (pacer_program_status{{{HERE}}} == 1)",
                    table=True,
                ),
                Query(JUDGED_DAY.format(by="program", selector=f"{{{HERE}}}"), table=True),
            ],
            transformations=merge_and_organize(
                {"Value #B": "judged as of"}, exclude=("Time", "Value #A")
            ),
            size=(8, 8),
            overrides=[
                override(
                    "byName",
                    "status",
                    mappings=value_mappings(STATUS_COLOURS),
                    custom__cellOptions={"type": "color-background", "mode": "basic"},
                ),
                override("byName", "judged as of", unit=DATE_UNIT),
            ],
            sort_by="program",
        ),
        table(
            "Sites per program: new, planned, target",
            "New in-service sites from the program's start to its judgement day, the plan to "
            "that day and the target by the deadline. 'target verified' no: the baseline and "
            "target are the targets file's illustrative allocation (for 5g-2027, the province's "
            "density decomposed by city), not official figures.",
            [
                Query(f"max by (program) (pacer_5g_sites_new{{{HERE}}})", table=True),
                Query(f"max by (program) (pacer_5g_sites_planned_new{{{HERE}}})", table=True),
                Query(f"max by (program) (pacer_5g_sites_target_new{{{HERE}}})", table=True),
                Query("max by (program) (pacer_program_baseline_verified)", table=True),
            ],
            transformations=merge_and_organize(
                {
                    "Value #A": "new",
                    "Value #B": "planned",
                    "Value #C": "target",
                    "Value #D": "target verified",
                }
            ),
            size=(9, 8),
            overrides=[
                override(
                    "byName",
                    "target verified",
                    mappings=YES_NO,
                    custom__cellOptions={"type": "color-text"},
                )
            ],
            sort_by="program",
        ),
        _burn_up("5g-2025", "New 5G sites by 2025-12-31 (the city's share of 70,000)."),
        _burn_up(
            "5g-2027",
            "Sites needed for 30 per 10,000 residents by 2027-12-31 (the province's target, "
            "derived per city).",
        ),
    ]


def _city_gigabit() -> list[Json]:
    """The indicators against their thresholds."""
    return [
        table(
            "Indicators against thresholds",
            "The value of each indicator in force at the city's judgement day (the latest as_of "
            "on or before it), its threshold (unverified thresholds are the loosest known to "
            "have passed MIIT's 2022 round) and the result ('not reported' counts as failing).",
            [
                Query(
                    f"max by (indicator) (pacer_gigabit_indicator_value{{{HERE}}})",
                    table=True,
                ),
                Query("max by (indicator) (pacer_gigabit_indicator_threshold)", table=True),
                Query(passing_or_unreported("indicator", f"{{{HERE}}}"), table=True),
                Query(
                    "max by (indicator) (pacer_gigabit_indicator_threshold_verified)",
                    table=True,
                ),
            ],
            transformations=merge_and_organize(
                {
                    "Value #A": "value",
                    "Value #B": "threshold",
                    "Value #C": "result",
                    "Value #D": "threshold verified",
                }
            ),
            size=(12, 9),
            overrides=[
                override(
                    "byName",
                    "result",
                    mappings=PASS_FAIL_UNREPORTED,
                    custom__cellOptions={"type": "color-background", "mode": "basic"},
                ),
                override(
                    "byName",
                    "threshold verified",
                    mappings=YES_NO,
                    custom__cellOptions={"type": "color-text"},
                ),
            ],
            sort_by="indicator",
        ),
        timeseries(
            "Indicator value ÷ threshold",
            "Each thresholded indicator's value in force at the city's judgement day over its "
            "threshold: at or above the dashed line at 1 it meets the threshold (strict '>' "
            "rules need more than 1).",
            [
                Query(
                    f"max by (indicator) (pacer_gigabit_indicator_value{{{HERE}}})"
                    " / on (indicator) max by (indicator) (pacer_gigabit_indicator_threshold)",
                    "{{indicator}}",
                )
            ],
            size=(12, 9),
            unit="none",
            threshold_line=1,
        ),
    ]


def _city_reports_and_alerts() -> list[Json]:
    """When the city last reported and where its alerts are."""
    return [
        latest_reports_table(
            "Latest reports",
            "When the city's latest applied report of each kind arrived, its age in days on "
            "Pacer's clock, and the latest month it has reported.",
            by="kind",
            selector=f"{{{HERE}}}",
            size=(10, 8),
            sort_by="kind",
        ),
        text("Alerts", CITY_ALERTS_MARKDOWN, size=(14, 8)),
    ]


# --- history rows (month ends backfilled by `pacer backfill`) ----------------------------------

# Backfilled samples sit at 23:59:59 of each month's last day (services/cli/backfill_series.py), so
# an instant query more than 5 minutes later sees none: these panels read the latest sample of the
# last 32 days, which is the month end's (or a live scrape's, once Prometheus has those). They use
# the exporter's own series only: recording rules never ran over backfilled months.
HISTORY_WINDOW = "32d"
HISTORY_SPAN = "3y"
"""The panels' own time range: 2024-01 onwards, whatever range the dashboard shows."""
HISTORY_ROW = "History (month ends, restated; load past months with pacer backfill)"


def latest_month_end(series: str) -> str:
    return f"last_over_time({series}[{HISTORY_WINDOW}])"


def history_timeseries(
    title: str,
    description: str,
    queries: Sequence[Query],
    **options: Any,
) -> Json:
    """A time series over the last three years, one point a day at most."""
    panel = timeseries(title, description, queries, **options)
    return panel | {"timeFrom": HISTORY_SPAN, "interval": "1d"}


def province_history() -> list[Json]:
    program = 'program="5g-2025"'
    new = f"sum(max by (city) ({latest_month_end(f'pacer_5g_sites_new{{{program}}}')}))"
    planned = f"sum(max by (city) ({latest_month_end(f'pacer_5g_sites_planned_new{{{program}}}')}))"
    attainment = latest_month_end(f"pacer_program_attainment_ratio{{{program}}}")
    gigabit = latest_month_end('pacer_program_attainment_ratio{program="gigabit-2024"}')
    return [
        row(HISTORY_ROW),
        history_timeseries(
            "History: province 5g-2025 new sites vs plan",
            "Each month end as Pacer judges it today (late reports restated into their months): "
            "the cities' new in-service sites and the plan to date (dashed), summed.",
            [Query(new, "new sites"), Query(planned, "plan to date")],
            size=(8, 9),
            minimum=0,
            overrides=[dashed("B", "orange")],
        ),
        history_timeseries(
            "History: 5g-2025 attainment per city",
            "Each city's new over planned sites at each month end, and the province's (sum over "
            "sum). Under 0.90 is at risk, under 0.75 behind; a city without data has no point.",
            [
                Query(f"max by (city) ({attainment})", "{{city}}"),
                Query(f"{new} / {planned}", "province"),
            ],
            size=(10, 9),
            unit="percentunit",
            threshold_line=0.9,
        ),
        history_timeseries(
            "History: cities meeting the gigabit standard",
            "Cities whose every thresholded gigabit indicator passed on the values in force at "
            "each month end of gigabit-2024 (of those with data).",
            [Query(f"sum(max by (city) ({gigabit}) == bool 1)", "cities")],
            size=(6, 9),
            minimum=0,
        ),
    ]


def city_history() -> list[Json]:
    here = 'city="$city"'
    program = f'{here}, program="5g-2025"'
    return [
        row(HISTORY_ROW),
        history_timeseries(
            "History: 5g-2025 new sites vs plan",
            "The city's new in-service sites and the plan to date (dashed) at each month end, as "
            "Pacer judges them today (late reports restated into their months).",
            [
                Query(f"max({latest_month_end(f'pacer_5g_sites_new{{{program}}}')})", "new sites"),
                Query(
                    f"max({latest_month_end(f'pacer_5g_sites_planned_new{{{program}}}')})",
                    "plan to date",
                ),
            ],
            size=(8, 9),
            minimum=0,
            overrides=[dashed("B", "orange")],
        ),
        history_timeseries(
            "History: attainment per program",
            "Attainment at each month end: new over planned sites (5g-2025, 5g-2027), the share "
            "of gigabit indicators passing (gigabit-2024). No point while the city had no data.",
            [
                Query(
                    "max by (program) "
                    f"({latest_month_end(f'pacer_program_attainment_ratio{{{here}}}')})",
                    "{{program}}",
                )
            ],
            size=(8, 9),
            unit="percentunit",
            threshold_line=0.9,
        ),
        history_timeseries(
            "History: gigabit indicator values",
            "The value of each indicator in force at each month end (latest as_of on or before "
            "it); bb_1000m_users, a count of users, is left out of this scale.",
            [
                Query(
                    "max by (indicator) ("
                    + latest_month_end(
                        f'pacer_gigabit_indicator_value{{{here}, indicator!="bb_1000m_users"}}'
                    )
                    + ")",
                    "{{indicator}}",
                )
            ],
            size=(8, 9),
        ),
    ]


# --- the Pipeline dashboard ---------------------------------------------------------------------


RATE = "[$__rate_interval]"
API_ROUTES = 'route=~"/v1/.*"'  # the API, not Prometheus' scrapes or health probes


def pipeline() -> Json:
    return dashboard(
        "pacer-pipeline",
        "Pacer · Pipeline health",
        "Is Pacer itself healthy: services up, ingest traffic, errors and latency, the Redis "
        "streams between the services, consumer handlers and webhook deliveries.",
        [
            *_pipeline_headline(),
            row("Ingest API"),
            *_pipeline_ingest(),
            row("Redis streams"),
            *_pipeline_streams(),
            row("Consumers (FastStream handlers)"),
            *_pipeline_consumers(),
            row("Webhook deliveries"),
            *_pipeline_webhooks(),
        ],
        time_from="now-6h",
    )


def _quantiles(metric: str, by: str, selector: str = "") -> list[Query]:
    grouping = f"{by}, le" if by else "le"
    legend = f"{{{{{by}}}}} " if by else ""
    return [
        Query(
            f"histogram_quantile({q}, sum by ({grouping}) (rate({metric}_bucket{selector}{RATE})))",
            f"{legend}p{round(q * 100)}",
        )
        for q in (0.5, 0.99)
    ]


def _pipeline_headline() -> list[Json]:
    """Services up, dead letters, the 5xx ratio and the exporter's own cost."""
    return [
        stat(
            "Services up",
            "Whether Prometheus can scrape each Pacer service (PacerServiceDown fires after "
            "1 minute down).",
            [Query('min by (job) (up{job=~"pacer-.*"})', "{{job}}")],
            size=(12, 4),
            steps=[("red", None), ("green", 1)],
            mappings=UP_DOWN,
        ),
        stat(
            "Dead-letter entries",
            "Entries on the dead-letter streams: reports that failed PACER_MAX_ATTEMPTS "
            "times (their reports are marked rejected). Anything above 0 needs a look.",
            [Query("sum(max by (stream) (pacer_dead_letter_messages))", "dead letters")],
            size=(4, 4),
            steps=[("green", None), ("red", 1)],
        ),
        stat(
            "Ingest 5xx ratio (5m)",
            "Share of ingest responses that were 5xx over 5 minutes (PacerIngestErrorRatio "
            "fires above 5 %).",
            [Query("pacer:ingest_5xx:ratio5m", "5xx")],
            size=(4, 4),
            unit="percentunit",
            steps=[("green", None), ("orange", 0.01), ("red", 0.05)],
            decimals=2,
        ),
        stat(
            "Exporter scrape duration",
            "Time the exporter took to read the state and render the gauges on its last scrape.",
            [Query("max(pacer_exporter_scrape_duration_seconds)", "scrape")],
            size=(4, 4),
            unit="s",
            steps=[("green", None), ("orange", 1), ("red", 5)],
        ),
    ]


def _pipeline_ingest() -> list[Json]:
    """The ingest API's traffic, errors, latency and refusals."""
    return [
        timeseries(
            "Requests by status",
            "Requests per second answered by the ingest service (all instances), by status "
            "code (includes Prometheus' scrapes and health probes).",
            [Query("pacer:ingest_requests:rate5m", "{{status}}")],
            size=(8, 8),
            unit="reqps",
            stacked=True,
        ),
        timeseries(
            "API requests by route",
            "Requests per second on the /v1 API, by route template and method.",
            [
                Query(
                    f"sum by (method, route) (rate(pacer_http_requests_total{{{API_ROUTES}}}"
                    f"{RATE}))",
                    "{{method}} {{route}}",
                )
            ],
            size=(8, 8),
            unit="reqps",
        ),
        timeseries(
            "API latency p50 / p99",
            "Time to the last byte of the response on the /v1 API, all routes.",
            _quantiles("pacer_http_request_duration_seconds", "", f"{{{API_ROUTES}}}"),
            size=(8, 8),
            unit="s",
        ),
        timeseries(
            "5xx ratio",
            "Share of ingest responses that were 5xx, over 5 minutes; the dashed line is the "
            "PacerIngestErrorRatio threshold (5 %).",
            [Query("pacer:ingest_5xx:ratio5m", "5xx ratio")],
            size=(8, 8),
            unit="percentunit",
            threshold_line=0.05,
            minimum=0,
        ),
        timeseries(
            "Reports refused for backpressure",
            "Reports a minute that ingest refused with 503 backlog_full because "
            "PACER_MAX_BACKLOG reports already waited to be applied (nothing stored; clients "
            "retry with the same report_id). Refusals for 5 minutes fire "
            "PacerIngestBackpressure; the lag and pending panels show the backlog.",
            [
                Query(
                    f"sum(rate(pacer_ingest_backpressure_rejections_total{RATE})) * 60",
                    "refused / min",
                )
            ],
            size=(8, 8),
            minimum=0,
        ),
        timeseries(
            "Responses by route and status (4xx, 5xx)",
            "Rejected (4xx) and failed (5xx) API requests per second: 422 is a report with "
            "errors, 401/403 an auth problem, 503 the store unavailable or the backlog full.",
            [
                Query(
                    "sum by (route, status) (rate(pacer_http_requests_total"
                    f'{{status=~"[45].."}}{RATE}))',
                    "{{status}} {{route}}",
                )
            ],
            size=(8, 8),
            unit="reqps",
        ),
    ]


def _pipeline_streams() -> list[Json]:
    """The Redis streams between the services."""
    return [
        timeseries(
            "Stream length",
            "Entries on each stream; the aggregator trims those every group acknowledged.",
            [Query("max by (stream) (pacer_stream_length)", "{{stream}}")],
            size=(8, 8),
        ),
        timeseries(
            "Pending (delivered, not acknowledged)",
            "Entries a consumer group has received but not acknowledged; the reclaimer takes "
            "over entries idle past PACER_RECLAIM_IDLE_MS.",
            [
                Query(
                    "max by (stream, group) (pacer_stream_pending_messages)",
                    "{{stream}} → {{group}}",
                )
            ],
            size=(8, 8),
        ),
        timeseries(
            "Lag (not yet delivered)",
            "Entries not yet delivered to each consumer group: a backlog that does not shrink "
            "means nobody reads (PacerStreamLagGrowing).",
            [
                Query(
                    "max by (stream, group) (pacer_stream_lag_messages)",
                    "{{stream}} → {{group}}",
                )
            ],
            size=(8, 8),
        ),
    ]


def _pipeline_consumers() -> list[Json]:
    """The FastStream handlers and what they decide."""
    return [
        timeseries(
            "Handler duration p50 / p99",
            "Time each FastStream handler took per message (aggregator: reports; alerting: "
            "progress events and deliveries).",
            _quantiles("faststream_received_processed_messages_duration_seconds", "handler"),
            unit="s",
        ),
        timeseries(
            "Messages processed by handler and status",
            "Messages per second each handler finished, by outcome status.",
            [
                Query(
                    "sum by (handler, status) "
                    f"(rate(faststream_received_processed_messages_total{RATE}))",
                    "{{handler}} {{status}}",
                )
            ],
            unit="ops",
        ),
        timeseries(
            "Aggregator outcomes",
            "Reports-stream entries handled per second: applied, already applied "
            "(redelivered), rejected, failed (will be retried) and dead-lettered.",
            [
                Query(
                    f"sum by (outcome) (rate(pacer_aggregator_reports_total{RATE}))",
                    "{{outcome}}",
                )
            ],
            size=(8, 8),
            unit="ops",
            overrides=[
                fixed_colour("byName", "applied", "green"),
                fixed_colour("byName", "failed", "orange"),
                fixed_colour("byName", "dead_lettered", "red"),
            ],
        ),
        timeseries(
            "Dead-letter entries",
            "Entries on each dead-letter stream over time.",
            [Query("max by (stream) (pacer_dead_letter_messages)", "{{stream}}")],
            size=(8, 8),
            threshold_line=1,
            minimum=0,
        ),
        timeseries(
            "Alert notifications",
            "Notifications decided by the alerting service per second: firing, resolved and "
            "repeat.",
            [
                Query(
                    f"sum by (event) (rate(pacer_alert_notifications_total{RATE}))",
                    "{{event}}",
                )
            ],
            size=(8, 8),
            unit="ops",
        ),
    ]


def _pipeline_webhooks() -> list[Json]:
    """Deliveries to the subscribers."""
    return [
        timeseries(
            "Webhook delivery outcomes",
            "Attempts per second: delivered (2xx), retried (will try again with backoff), "
            "dead (gave up after PACER_DELIVERY_MAX_ATTEMPTS; listed in the subscription's "
            "deliveries).",
            [
                Query(
                    f"sum by (outcome) (rate(pacer_webhook_deliveries_total{RATE}))",
                    "{{outcome}}",
                )
            ],
            unit="ops",
            overrides=[
                fixed_colour("byName", "delivered", "green"),
                fixed_colour("byName", "retried", "orange"),
                fixed_colour("byName", "dead", "red"),
            ],
        ),
        timeseries(
            "Webhook attempt duration p50 / p99",
            "Time of one webhook attempt until the subscriber's response or the timeout.",
            _quantiles("pacer_webhook_delivery_seconds", ""),
            unit="s",
        ),
    ]


# --- output -------------------------------------------------------------------------------------


def render() -> dict[str, str]:
    """File name -> the JSON text Grafana provisions."""
    return {
        f"{board['uid']}.json": json.dumps(board, indent=2, ensure_ascii=False) + "\n"
        for board in (province(), city(), pipeline())
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the JSON files are stale")
    args = parser.parse_args(argv)
    stale = []
    for name, content in render().items():
        path = DASHBOARDS_DIR / name
        if path.exists() and path.read_text(encoding="utf-8") == content:
            continue
        stale.append(name)
        if not args.check:
            DASHBOARDS_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    if args.check and stale:
        print(f"stale: {', '.join(stale)}; run {Path(__file__).name}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
