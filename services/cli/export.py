"""``pacer export --month YYYY-MM [--out FILE]``: every city and programme at a month's end, as
the CSV of ``GET /v1/export.csv`` (UTF-8 with a byte-order mark, so Excel opens the Chinese
names), written byte for byte as Pacer sent it."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from services.cli.api_client import PacerClient
from services.cli.api_reads import EXIT_OK, ReadFailedError, read


def _month(text: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {text!r}")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.add_argument("--month", type=_month, required=True, help="the month, YYYY-MM")
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the CSV (default: pacer-<month>.csv here; '-' for standard output)",
    )
    parser.add_argument("--server", help="Pacer's API (default: $PACER_API_URL or :8000)")
    parser.add_argument("--token", help="an API token, any role (default: $PACER_TOKEN)")


def run(args: argparse.Namespace) -> int:
    client = PacerClient.from_env(args.server, args.token)
    try:
        body = read(client, "/v1/export.csv", month=args.month)
    except ReadFailedError as exc:
        print(f"pacer export: {exc.message}", file=sys.stderr)
        return exc.exit_status
    finally:
        client.close()
    out: Path = args.out or Path(f"pacer-{args.month}.csv")
    if str(out) == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        out.write_bytes(body)
        rows = body.count(b"\n") - 1  # after the header
        print(f"pacer export: wrote {out} ({rows} rows)", file=sys.stderr)
    return EXIT_OK
