"""``pacer backfill --out FILE [--program ID]``: Pacer's monthly history as OpenMetrics text, for

    promtool tsdb create-blocks-from openmetrics FILE <prometheus data dir>

so Grafana shows every month since each programme's start, even when the reports were loaded this
week or Prometheus lost its volume (README, "History and export"; ``make backfill`` does it for
the docker-compose Prometheus). The figures are ``GET /v1/cities/{city}/history`` of every city
and programme, with the live exporter's metric names and labels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.cli.api_client import PacerClient
from services.cli.api_reads import EXIT_OK, EXIT_REFUSED, ReadFailedError, read_json
from services.cli.backfill_series import GIGABIT_KIND, add_history, families, render


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--out", type=Path, required=True, help="the file to write ('-': stdout)")
    parser.add_argument("--program", help="one programme only (default: every programme)")
    parser.add_argument("--server", help="Pacer's API (default: $PACER_API_URL or :8000)")
    parser.add_argument("--token", help="an API token, any role (default: $PACER_TOKEN)")


def run(args: argparse.Namespace) -> int:
    client = PacerClient.from_env(args.server, args.token)
    try:
        text = backfill(client, args.program)
    except ReadFailedError as exc:
        print(f"pacer backfill: {exc.message}", file=sys.stderr)
        return exc.exit_status
    finally:
        client.close()
    if str(args.out) == "-":
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        samples = sum(1 for line in text.splitlines() if not line.startswith("#"))
        print(f"pacer backfill: wrote {samples} samples to {args.out}", file=sys.stderr)
    return EXIT_OK


def backfill(client: PacerClient, only: str | None = None) -> str:
    """The OpenMetrics text of every city's history on every programme (or ``only`` that one)."""
    progress = read_json(client, "/v1/progress")
    cities = list(progress["cities"])
    kinds = {
        program: view["kind"]
        for city in progress["cities"].values()
        for program, view in city["programs"].items()
    }
    if only is not None and only not in kinds:
        raise ReadFailedError(f"no programme {only!r} (Pacer has {', '.join(kinds)})", EXIT_REFUSED)
    programs = [only] if only else list(kinds)
    # Indicator values have no programme label: take them from the first gigabit programme.
    indicators_from = next((p for p in kinds if kinds[p] == GIGABIT_KIND), None)
    found = families()
    for program in programs:
        for city in cities:
            history = read_json(client, f"/v1/cities/{city}/history", program=program)
            add_history(found, history, indicators=program == indicators_from)
    return render(found.values())
