"""What ``pacer submit`` shows: a progress bar on stderr (a terminal only, unless asked), one line
per error as ``FILE:ROW: column: message (code)``, and a closing table or JSON summary on stdout.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from services.cli.submit_upload import Outcome

COUNTS = ("created", "updated", "unchanged")


def progress_bar(console: Console, enabled: bool) -> Progress:
    """Disabled, it draws nothing: piped output gets no cursor movements."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


def result_of(outcome: Outcome) -> str:
    if outcome.status == "applied" and outcome.answer == "duplicate":
        return "duplicate"
    return outcome.status


def rejected_rows(outcome: Outcome) -> int:
    """A rejected report is rejected whole: none of its rows is stored."""
    return outcome.batch.rows_in_file if outcome.rejected else 0


def totals(outcomes: list[Outcome]) -> dict[str, int]:
    summed = {
        key: sum(getattr(o.summary, key) for o in outcomes if o.summary and not o.rejected)
        for key in COUNTS
    }
    return summed | {
        "rejected": sum(rejected_rows(o) for o in outcomes),
        "reports": len(outcomes),
        "reports_rejected": sum(1 for o in outcomes if o.rejected),
        "reports_pending": sum(1 for o in outcomes if o.status == "pending"),
    }


def table(outcomes: list[Outcome], unit: str) -> Table:
    """One row per report; the ids share a prefix, shown once in the caption."""
    prefix = outcomes[0].batch.report_id.rsplit("-", 1)[0] if outcomes else ""
    grid = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        show_footer=True,
        caption=f"report ids: {prefix}-<report>",
        caption_justify="left",
    )
    done = totals(outcomes)
    plural = "" if done["reports"] == 1 else "s"
    grid.add_column("report", f"{done['reports']} report{plural}", no_wrap=True)
    grid.add_column(unit, str(sum(o.batch.rows_in_file for o in outcomes)), justify="right")
    grid.add_column("result")
    for key in (*COUNTS, "rejected"):
        grid.add_column(key, str(done[key]), justify="right")
    for outcome in outcomes:
        counts = [
            str(getattr(outcome.summary, key)) if outcome.summary and not outcome.rejected else "-"
            for key in COUNTS
        ]
        style = {"rejected": "red", "pending": "yellow"}.get(outcome.status)
        grid.add_row(
            outcome.batch.report_id.rsplit("-", 1)[-1],
            str(outcome.batch.rows_in_file),
            result_of(outcome),
            *counts,
            str(rejected_rows(outcome)),
            style=style,
        )
    return grid


def notes(outcomes: list[Outcome], dry_run: bool) -> list[str]:
    lines: list[str] = []
    if dry_run:
        lines.append("dry run: nothing was stored; the counts are what the reports would do.")
    if any(o.answer == "duplicate" for o in outcomes):
        lines.append(
            "duplicate: Pacer already had that report (from an earlier run, or an earlier try of"
            " this one) and applied it; the counts are from then."
        )
    if any(o.status == "pending" for o in outcomes):
        lines.append(
            "pending: accepted but not applied in time; see GET /v1/cities/<city>/reports/<id>"
            " or run the same command again (nothing is submitted twice)."
        )
    if any(o.rejected for o in outcomes):
        lines.append("rejected: a report with any error is stored not at all; fix and rerun.")
    return lines


def summary_json(
    outcomes: list[Outcome], context: dict[str, Any], aborted: str | None
) -> dict[str, Any]:
    done = totals(outcomes)
    return context | {
        "ok": not aborted and done["reports_rejected"] == 0 and done["reports_pending"] == 0,
        "aborted": aborted,
        "totals": done,
        "reports": [
            {
                "number": o.batch.number,
                "report_id": o.batch.report_id,
                "rows": o.batch.rows_in_file,
                "first_row": o.batch.first_row,
                "last_row": o.batch.last_row,
                "sent": o.batch.sent,
                "answer": o.answer,
                "status": o.status,
                "summary": o.summary.model_dump() if o.summary else None,
                "rejected": rejected_rows(o),
                "errors": [error.as_json() for error in o.errors],
            }
            for o in outcomes
        ],
    }
