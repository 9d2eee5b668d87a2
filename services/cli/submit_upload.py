"""Sending reports to Pacer and following each until the aggregator has applied (or rejected) it.

Retries of 503s, 429s, timeouts and refused connections are PacerClient's; they are safe because
every report carries its content-derived id: a report whose answer was lost is answered
``duplicate`` the next time and stored once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.cli.api_client import PacerClient
from shared.report_files.batches import Batch
from shared.report_files.rows import RowError
from shared.wire import ReportSummary

POLL_FIRST_S = 0.2
POLL_MAX_S = 1.0


class SubmitAbortedError(RuntimeError):
    """The server refused in a way no other report would fare better with (401, 403, 413...)."""


@dataclass
class Outcome:
    """What became of one report."""

    batch: Batch
    answer: str = "not sent"
    """The POST's answer: accepted | duplicate | valid (dry run) | invalid | not sent."""
    status: str = "not sent"
    """Where it ended: applied | rejected | pending | dry run | not sent."""
    summary: ReportSummary | None = None
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return self.status == "rejected"


def _error_items(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        items = response.json().get("errors", [])
    except ValueError:
        items = []
    return [item for item in items if isinstance(item, dict)] or [
        {"loc": [], "code": f"http_{response.status_code}", "message": response.text[:200]}
    ]


def _row_errors(batch: Batch, response: httpx.Response) -> list[RowError]:
    return [batch.error(item) for item in _error_items(response)]


def _abort(response: httpx.Response, batch: Batch) -> SubmitAbortedError:
    messages = "; ".join(f"{e['message']} ({e['code']})" for e in _error_items(response))
    hint = ""
    if response.status_code == 413:
        hint = " — pass a smaller --batch-size"
    return SubmitAbortedError(
        f"report {batch.number} ({batch.report_id}): HTTP {response.status_code}: {messages}{hint}"
    )


@dataclass
class Uploader:
    client: PacerClient
    city: str
    dry_run: bool = False

    def _post(self, batch: Batch, dry_run: bool) -> httpx.Response:
        return self.client.request(
            "POST",
            f"/v1/cities/{self.city}/reports/{batch.kind}",
            json=batch.body,
            params={"dry_run": "true"} if dry_run else None,
        )

    def send(self, outcome: Outcome) -> None:
        """POST one report and record the answer on ``outcome``. A report with local errors is
        only dry-run (for the server's findings on its other rows) and is rejected as it is:
        nothing of it is stored."""
        batch = outcome.batch
        outcome.errors = list(batch.errors)
        if batch.errors:
            outcome.status = "rejected"
            if batch.sent:
                response = self._post(batch, dry_run=True)
                if response.status_code == 422:
                    outcome.errors += _row_errors(batch, response)
                elif response.status_code != 200:
                    raise _abort(response, batch)
            return
        response = self._post(batch, self.dry_run)
        if response.status_code in (200, 202):
            answer = response.json()
            outcome.answer = str(answer.get("status"))
            if self.dry_run:
                outcome.status = "dry run"
                outcome.summary = ReportSummary.model_validate(answer.get("summary", {}))
            else:
                outcome.status = "pending"
        elif response.status_code in (409, 422):
            outcome.answer, outcome.status = "invalid", "rejected"
            outcome.errors += _row_errors(batch, response)
        else:
            raise _abort(response, batch)

    def wait_applied(
        self,
        outcomes: list[Outcome],
        timeout_s: float,
        on_settled: Callable[[Outcome], None] = lambda _: None,
    ) -> None:
        """Poll ``GET /v1/cities/{city}/reports/{id}`` until each pending report is applied or
        rejected (its errors located in the file like a 422's), or the time is up (those stay
        ``pending``)."""
        pending = [outcome for outcome in outcomes if outcome.status == "pending"]
        deadline = time.monotonic() + timeout_s
        pause = POLL_FIRST_S
        while pending:
            for outcome in list(pending):
                response = self.client.request(
                    "GET", f"/v1/cities/{self.city}/reports/{outcome.batch.report_id}"
                )
                if response.status_code != 200:
                    continue  # not visible yet (or a transient error): ask again
                record = response.json()
                if record.get("status") not in ("applied", "rejected"):
                    continue
                outcome.status = str(record["status"])
                outcome.summary = ReportSummary.model_validate(record.get("summary", {}))
                if outcome.rejected and record.get("errors"):
                    outcome.errors += _row_errors(outcome.batch, response)
                elif outcome.rejected:
                    reason = record.get("reason") or "rejected by the aggregator"
                    outcome.errors.append(RowError(None, None, str(reason), "rejected"))
                pending.remove(outcome)
                on_settled(outcome)
            if not pending or time.monotonic() + pause > deadline:
                return
            time.sleep(pause)
            pause = min(POLL_MAX_S, pause * 1.5)
