"""Entry point of the ``pacer`` command."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from prometheus_client import disable_created_metrics
from pydantic import ValidationError

from shared.clock import ClockError
from shared.settings import Settings
from shared.targets import TargetsError, load_targets

SERVICES = ("ingest", "aggregator", "alerting", "exporter", "portal")
CLIENT_TOOLS = {
    "submit": "submit reports from CSV/XLSX/JSON/NDJSON files (a city officer's tool)",
    "template": "write an empty CSV or XLSX form for a report of sites or indicators",
    "status": "the province at a glance: programmes, overdue reports, active alerts",
    "demo": "simulate 16 cities reporting 2024-2025 against a running Pacer",
    "export": "every city and programme at a month's end, as CSV for spreadsheets",
    "backfill": "the monthly history as OpenMetrics text for promtool (Grafana's past months)",
}
"""Commands for people (most talk to a running Pacer over HTTP); each module has add_arguments()
and run()."""


def _serve(service: str) -> int:
    try:
        settings = Settings()
        load_targets(settings.targets_file)  # refuse to start on a bad targets file, naming why
    except (ValidationError, ClockError, TargetsError) as exc:
        print(f"pacer serve {service}: configuration error: {exc}", file=sys.stderr)
        return 2
    disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
    # Each service's composition root is imported only when that service runs: services never
    # import each other, and the command does not load what it does not serve.
    module = importlib.import_module(f"services.{service}.main")
    module.main(settings)
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pacer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run one service (what containers use)")
    serve.add_argument("service", choices=SERVICES)
    up = commands.add_parser("up", help="run the whole system on this machine, supervised")
    up.add_argument("--var-dir", default="var", help="where the embedded Redis and tokens live")
    argv = sys.argv[1:] if argv is None else argv
    for tool, description in CLIENT_TOOLS.items():
        tool_parser = commands.add_parser(tool, help=description)
        if argv[:1] == [tool]:  # import only the tool that runs: a service never loads them
            importlib.import_module(f"services.cli.{tool}").add_arguments(tool_parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    if args.command == "serve":
        sys.exit(_serve(args.service))
    if args.command in CLIENT_TOOLS:
        sys.exit(importlib.import_module(f"services.cli.{args.command}").run(args))
    from services.cli.supervisor import run_up

    sys.exit(run_up(args.var_dir))
