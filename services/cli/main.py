"""Entry point of the ``pacer`` command."""

from __future__ import annotations

import argparse
import importlib
import sys

from prometheus_client import disable_created_metrics

from shared.build_info import build_info
from shared.environment import ConfigurationError, load_settings
from shared.logs import configure_logging
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


def _settings(command: str) -> Settings:
    """The settings, or exit 2 with a line per mistake, each naming its variable."""
    try:
        settings = load_settings()
        load_targets(settings.targets_file)  # refuse to start on a bad targets file, naming why
    except ConfigurationError as exc:
        _refuse(command, exc.lines)
    except TargetsError as exc:
        _refuse(command, [f"PACER_TARGETS_FILE: {exc}".replace("\n", " ")])
    return settings


def _refuse(command: str, problems: list[str]) -> None:
    for problem in problems:
        print(f"{command}: configuration error: {problem}", file=sys.stderr)
    sys.exit(2)


def _serve(service: str, settings: Settings) -> int:
    disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
    # Each service's composition root is imported only when that service runs: services never
    # import each other, and the command does not load what it does not serve.
    module = importlib.import_module(f"services.{service}.main")
    module.main(settings)
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="pacer", description=__doc__)
    parser.add_argument("--version", action="version", version=str(build_info()))
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run one service (what containers use)")
    serve.add_argument("service", choices=SERVICES)
    up = commands.add_parser("up", help="run the whole system on this machine, supervised")
    up.add_argument("--var-dir", default="var", help="where the embedded Redis and tokens live")
    migrate = commands.add_parser(
        "migrate", help="upgrade the stored sites to the compact layout, in place (see --help)"
    )
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["migrate"]:
        importlib.import_module("services.cli.migrate").add_arguments(migrate)
    for tool, description in CLIENT_TOOLS.items():
        tool_parser = commands.add_parser(tool, help=description)
        if argv[:1] == [tool]:  # import only the tool that runs: a service never loads them
            importlib.import_module(f"services.cli.{tool}").add_arguments(tool_parser)
    args = parser.parse_args(argv)
    if args.command in CLIENT_TOOLS:  # a person's tool: plain lines, whatever PACER_LOG_* says
        configure_logging("INFO", "text", args.command)
        sys.exit(importlib.import_module(f"services.cli.{args.command}").run(args))
    name = f"pacer {args.command}" + (f" {args.service}" if args.command == "serve" else "")
    settings = _settings(name)
    configure_logging(settings.log_level, settings.log_format, getattr(args, "service", "up"))
    if args.command == "serve":
        sys.exit(_serve(args.service, settings))
    if args.command == "migrate":
        sys.exit(importlib.import_module("services.cli.migrate").run(settings, args))
    from services.cli.supervisor import run_up

    sys.exit(run_up(args.var_dir, settings))
