"""``pacer status``: the province at a glance, from ``GET /v1/progress`` and ``GET /v1/alerts``.

The table shows each city's programmes with progress bars and status colours, its overdue reports
and its active alerts, then the province and the list of active alerts. ``--json`` prints the
same facts for scripts: the ``/v1/progress`` document as the server returned it (so the numbers
agree), each city with its overdue report kinds and active alert count added, and the alerts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any

import httpx
from rich.console import Console

from services.cli.api_client import ApiUnavailableError, PacerClient
from services.cli.status_table import render_status


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "The province at a glance: each city's programmes, overdue reports and active alerts."
    )
    parser.add_argument("--server", help="Pacer's API (default: $PACER_API_URL or :8000)")
    parser.add_argument("--token", help="an API token, any role (default: $PACER_TOKEN)")
    parser.add_argument("--json", action="store_true", help="print a JSON document for scripts")
    parser.add_argument(
        "--alerts",
        type=int,
        default=30,
        metavar="N",
        help="list at most N active alerts, critical and newest first (0: all; default 30)",
    )


def status_document(progress: dict[str, Any], alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """``progress`` unchanged but for two fields added to each city and province, plus ``alerts``.

    Each city gets ``overdue`` (the report kinds it owes, sorted) and ``active_alerts`` (how many
    alerts with its ``city`` label are active); the province gets ``active_alerts`` (all of them).
    """
    per_city = Counter(a["labels"].get("city") for a in alerts)
    cities = {
        city_id: city
        | {
            "overdue": sorted(k for k, r in city.get("reports", {}).items() if r.get("overdue")),
            "active_alerts": per_city.get(city_id, 0),
        }
        for city_id, city in progress["cities"].items()
    }
    province = progress["province"] | {"active_alerts": len(alerts)}
    return progress | {"province": province, "cities": cities, "alerts": alerts}


def fetch_status(client: PacerClient) -> dict[str, Any]:
    progress = client.get_json("/v1/progress")
    alerts = client.get_json("/v1/alerts")
    return status_document(progress, alerts)


def run(args: argparse.Namespace) -> int:
    client = PacerClient.from_env(args.server, args.token)
    client.max_wait_s = 10.0  # a person is waiting: say soon that Pacer is not answering
    try:
        document = fetch_status(client)
    except httpx.HTTPStatusError as exc:
        answer = f"{exc.response.status_code}: {exc.response.text[:300]}"
        print(f"pacer status: {exc.request.url} answered {answer}", file=sys.stderr)
        return 1
    except ApiUnavailableError as exc:
        print(f"pacer status: Pacer is not answering at {client.base_url}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    if args.json:
        json.dump(document, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 150))  # piped: do not squeeze the table
    render_status(console, document, args.alerts)
    return 0
