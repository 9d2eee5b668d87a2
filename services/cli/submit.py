"""``pacer submit``: a city officer's file of 5G sites or gigabit indicators, sent as reports.

    pacer submit 5g-sites sites.csv --city jinan --period 2024-06 --as-of 2024-06-30
    pacer submit gigabit gigabit.json --city jinan --period 2024-06 --as-of 2024-06-30

Read and check the file, cut it into reports (shared.report_files, which the portal uses too),
send them and wait until each is applied (submit_upload), say what happened (submit_output).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from datetime import date
from pathlib import Path

from rich.console import Console

from services.cli.api_client import ApiUnavailableError, PacerClient
from services.cli.submit_output import notes, progress_bar, summary_json, table
from services.cli.submit_upload import Outcome, SubmitAbortedError, Uploader
from shared.domain.state import ReportKind
from shared.report_files.batches import Batch, BatchError
from shared.report_files.prepare import prepare_reports
from shared.report_files.readers import FORMATS, InputError, SourceFile
from shared.report_files.rows import RowError
from shared.wire import MAX_SITES_PER_REPORT

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE, EXIT_UNAVAILABLE = 0, 1, 2, 3
EXIT_INTERRUPTED = 130
DEFAULT_WAIT_S = 300.0


def _period(text: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {text!r}")
    return text


def _day(text: str) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}")


def _batch_size(text: str) -> int:
    size = int(text)
    if not 1 <= size <= MAX_SITES_PER_REPORT:
        raise argparse.ArgumentTypeError(f"between 1 and {MAX_SITES_PER_REPORT}")
    return size


DESCRIPTION = """\
Submit a file of new 5G sites (CSV, XLSX, JSON or NDJSON) or of gigabit indicators (CSV, XLSX or
JSON) as progress reports. Site lists become reports of at most 10,000 sites whose ids derive
from their content, so running the same command again submits nothing twice."""
EPILOG = """\
CSV/XLSX columns for 5g-sites: site_id, operator, status, commissioned_on, lat, lon[, district,
band], or in Chinese 站点编号, 运营商, 状态, 开通日期, 纬度, 经度[, 区县, 频段]; operators as
china_mobile or 中国移动. CSV in UTF-8 (with or without BOM), GBK or GB18030.
Gigabit CSV/XLSX: rows 'indicator,value' (指标,数值), or indicator columns with one row of values.
Empty forms: pacer template 5g-sites|gigabit.
Exit status: 0 all applied (or valid, with --dry-run); 1 something was rejected; 2 the file or
the request could not be used; 3 Pacer was unavailable, or a report was not applied in time."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description, parser.epilog = DESCRIPTION, EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "kind", type=ReportKind, choices=[ReportKind.SITES, ReportKind.GIGABIT], help="report kind"
    )
    parser.add_argument("file", type=Path, help="the file to submit")
    parser.add_argument("--city", required=True, help="city id, e.g. jinan")
    parser.add_argument("--period", required=True, type=_period, metavar="YYYY-MM")
    parser.add_argument(
        "--as-of", required=True, type=_day, metavar="YYYY-MM-DD", help="a day in the period"
    )
    parser.add_argument("--format", choices=FORMATS, help="default: from the file's extension")
    parser.add_argument(
        "--batch-size",
        type=_batch_size,
        default=MAX_SITES_PER_REPORT,
        help=f"sites per report (default and most: {MAX_SITES_PER_REPORT}); it shapes report ids",
    )
    parser.add_argument("--dry-run", action="store_true", help="validate only; store nothing")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="progress bar on stderr (default: only when stderr is a terminal)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_S,
        metavar="SECONDS",
        help=f"how long to wait for the reports to be applied (default {DEFAULT_WAIT_S:g})",
    )
    parser.add_argument(
        "--retry-for",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="keep retrying an unavailable Pacer this long per request (default 120)",
    )
    parser.add_argument("--server", help="Pacer's API URL (default: $PACER_API_URL)")
    parser.add_argument("--token", help="bearer token (default: $PACER_TOKEN)")


def build_batches(args: argparse.Namespace) -> list[Batch]:
    """Read and check the file; raises InputError or BatchError when it cannot be used."""
    return prepare_reports(
        SourceFile.read(args.file),
        args.kind,
        args.city,
        args.period,
        args.as_of,
        file_format=args.format,
        batch_size=args.batch_size,
    )


class _Session:
    """One run's consoles and the way it reports as it goes."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.err = Console(stderr=True, soft_wrap=True, highlight=False)
        wide = Console(soft_wrap=False)
        self.out = wide if wide.is_terminal else Console(width=120, soft_wrap=False)
        self.show_bar = self.err.is_terminal if args.progress is None else args.progress

    def say(self, text: str) -> None:
        self.err.print(text, markup=False)

    def errors(self, errors: list[RowError]) -> None:
        for error in sorted(errors, key=lambda e: (e.row or 0, e.column or "")):
            self.say(error.render(str(self.args.file)))

    def step(self, text: str) -> None:
        """A line per report when there is no bar: a sign of life in logs and pipes."""
        if not self.show_bar:
            self.say(text)


def _upload(
    session: _Session, client: PacerClient, batches: list[Batch]
) -> tuple[list[Outcome], str | None, int]:
    args = session.args
    uploader = Uploader(client, args.city, args.dry_run)
    outcomes = [Outcome(batch) for batch in batches]
    unit = "sites" if args.kind is ReportKind.SITES else "indicators"
    with progress_bar(session.err, session.show_bar) as bar:
        sending = bar.add_task(f"sending {unit}", total=sum(b.rows_in_file for b in batches))
        try:
            for batch, outcome in zip(batches, outcomes, strict=True):
                uploader.send(outcome)
                session.errors(outcome.errors[len(batch.errors) :])
                bar.advance(sending, batch.rows_in_file)
                said = outcome.status if outcome.rejected else outcome.answer
                session.step(
                    f"report {batch.number}/{len(batches)} {batch.report_id} "
                    f"({batch.sent} {unit}): {said}"
                )
            pending = [o for o in outcomes if o.status == "pending"]
            applying = bar.add_task("applied", total=len(pending), visible=bool(pending))

            def settled(outcome: Outcome) -> None:
                bar.advance(applying)
                session.errors(outcome.errors)
                session.step(
                    f"report {outcome.batch.number} {outcome.batch.report_id}: {outcome.status}"
                )

            uploader.wait_applied(outcomes, args.wait, settled)
        except SubmitAbortedError as exc:
            return outcomes, str(exc), EXIT_UNUSABLE
        except ApiUnavailableError as exc:
            return outcomes, f"Pacer is unavailable: {exc}", EXIT_UNAVAILABLE
    return outcomes, None, EXIT_OK


def _exit_status(outcomes: list[Outcome], aborted_status: int) -> int:
    if aborted_status:
        return aborted_status
    if any(o.rejected for o in outcomes):
        return EXIT_REJECTED
    if any(o.status == "pending" for o in outcomes):
        return EXIT_UNAVAILABLE
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    session = _Session(args)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise here
    if not (args.token or os.environ.get("PACER_TOKEN")):
        session.say("pacer submit: no token: pass --token or set PACER_TOKEN")
        return EXIT_UNUSABLE
    try:
        batches = build_batches(args)
    except (InputError, BatchError) as exc:
        session.say(f"pacer submit: {exc}")
        return EXIT_UNUSABLE
    session.errors([error for batch in batches for error in batch.errors])
    client = PacerClient.from_env(args.server, args.token)
    client.max_wait_s = args.retry_for
    client.on_retry = lambda what, delay: session.say(f"{what}; retrying in {delay:.1f} s")
    try:
        outcomes, aborted, aborted_status = _upload(session, client, batches)
    except KeyboardInterrupt:
        session.say(
            "pacer submit: interrupted; run the same command again to finish "
            "(reports Pacer already has are answered duplicate, not stored twice)"
        )
        return EXIT_INTERRUPTED
    finally:
        client.close()
    if aborted:
        session.say(f"pacer submit: {aborted}")
    if args.json:
        context = {
            "file": str(args.file),
            "kind": str(args.kind),
            "city": args.city,
            "period": args.period,
            "as_of": args.as_of.isoformat(),
            "dry_run": args.dry_run,
        }
        sys.stdout.write(json.dumps(summary_json(outcomes, context, aborted), indent=2) + "\n")
    else:
        unit = "sites" if args.kind is ReportKind.SITES else "indicators"
        session.out.print(table(outcomes, unit))
        for line in notes(outcomes, args.dry_run):
            session.out.print(line, markup=False, highlight=False)
    return _exit_status(outcomes, aborted_status)
