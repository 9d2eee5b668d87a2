"""Plays a demo scenario against Pacer's HTTP API, on the server's clock.

Each report goes out once the server's clock has passed the instant the city submits it (never a
period in the future). The skipping city's late reports wait, in addition, until Pacer has raised
ReportOverdue for them (at most OVERDUE_WAIT_DAYS more): it submits once reminded. Meanwhile the
driver polls the active alerts and prints a line per month.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rich.markup import escape

from services.cli.api_client import PacerClient
from services.cli.demo_alerts import AlertWatch, SeenAlert
from services.cli.demo_clock import ServerClock
from services.cli.demo_simulation import Scenario, Submission
from shared.domain.calendar import PROVINCE_TZ, Period

FUTURE_CODES = {"period_in_future", "as_of_in_future"}
OVERDUE_WAIT_DAYS = 20
POLL_S = 0.25
RESYNC_S = 2.0
FUTURE_RETRIES = 20


class NotAllowedError(RuntimeError):
    """The token may not submit a city's reports (401/403): nothing else will work either."""


@dataclass
class DemoApi:
    client: PacerClient
    probe_city: str
    """Any city: its progress document is small and carries the server's ``as_of``."""
    city_tokens: dict[str, str] = field(default_factory=dict)
    """Per-city tokens, so each city submits as its own officer; else the client's token."""

    def submit(self, submission: Submission) -> tuple[int, Any]:
        token = self.city_tokens.get(submission.city)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        path = f"/v1/cities/{submission.city}/reports/{submission.kind}"
        response = self.client.request("POST", path, json=submission.body, headers=headers)
        return response.status_code, response.json()

    def server_now(self) -> datetime:
        return datetime.fromisoformat(
            self.client.get_json(f"/v1/cities/{self.probe_city}/progress")["as_of"]
        )

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.client.get_json("/v1/alerts")
        return alerts

    def progress(self) -> dict[str, Any]:
        progress: dict[str, Any] = self.client.get_json("/v1/progress")
        return progress


@dataclass
class Outcome:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[Submission, str]] = field(default_factory=list)
    unreachable: list[Submission] = field(default_factory=list)
    """Not submitted: the server's clock will never reach their instant (a fixed clock)."""


def day(instant: datetime) -> str:
    return instant.astimezone(PROVINCE_TZ).date().isoformat()


def _errors(body: Any) -> list[dict[str, Any]]:
    errors = body.get("errors", []) if isinstance(body, dict) else []
    return [e for e in errors if isinstance(e, dict)]


@dataclass
class Driver:
    api: DemoApi
    clock: ServerClock
    watch: AlertWatch
    say: Callable[[str], None]
    featured: Callable[[SeenAlert], bool] = lambda alert: False
    """Alerts printed one by one as they fire and resolve (the others are counted)."""
    poll_s: float = POLL_S
    sleep: Callable[[float], None] = time.sleep
    outcome: Outcome = field(default_factory=Outcome)
    _last_poll: float = 0.0
    _last_sync: float = 0.0
    _fired: int = 0
    _resolved: int = 0

    def run(self, scenario: Scenario) -> Outcome:
        pending = list(scenario.submissions)
        while pending:
            submission = pending.pop(0)
            if not self._wait_for(submission):
                self.outcome.unreachable = [submission, *pending]
                break
            self._submit(submission)
            following = pending[0] if pending else None
            if not submission.late and (
                following is None or following.late or following.period != submission.period
            ):
                self._month_line(submission.period)
        self.poll()
        return self.outcome

    def poll(self, force: bool = False) -> None:
        """Poll the alerts (and now and then the clock), at most every ``poll_s``."""
        real = time.monotonic()
        if real - self._last_sync >= RESYNC_S:
            self.clock.sync()
            self._last_sync = real
        if not force and real - self._last_poll < self.poll_s:
            return
        self._last_poll = real
        fired, resolved = self.watch.poll(self.clock.now())
        self._fired += len(fired)
        self._resolved += len(resolved)
        for alert in filter(self.featured, fired):
            self.say(f"    [red]▲[/] {self._describe(alert)}")
        for alert in filter(self.featured, resolved):
            self.say(f"    [green]▼ resolved[/] {self._describe(alert)}")

    def _describe(self, alert: SeenAlert) -> str:
        labels = alert.labels
        return escape(f"{labels.get('severity', '')} {alert.name}: {alert.summary}")

    def _wait(self, instant: datetime, until: Callable[[], bool] | None = None) -> bool:
        """Wait until the server's clock passes ``instant`` (or ``until()`` holds, if given)."""
        while until is None or not until():
            remaining = self.clock.real_seconds_until(instant)
            if remaining is None:
                return False
            if remaining <= 0:
                return until is None
            self.sleep(min(remaining, self.poll_s))
            self.poll()
        return True

    def _wait_for(self, submission: Submission) -> bool:
        if not self._wait(submission.at):
            return False
        if submission.late:
            alert = {"city": submission.city, "kind": submission.kind}
            reminded = self._wait(
                submission.at + timedelta(days=OVERDUE_WAIT_DAYS),
                lambda: self.watch.is_active("ReportOverdue", **alert),
            )
            if not reminded:  # the wait ran out: submit anyway
                self.clock.sync()
            self.say(
                f"{day(self.clock.now())}  [bold]{submission.city}[/] submits its "
                f"{submission.period} {submission.kind} report late"
            )
        return True

    def _submit(self, submission: Submission) -> None:
        for _attempt in range(FUTURE_RETRIES):
            status, body = self.api.submit(submission)
            codes = {e.get("code") for e in _errors(body)}
            if status == 422 and codes and codes <= FUTURE_CODES:
                self.clock.sync()  # our idea of the server's time ran ahead of it: wait a little
                self.sleep(self.poll_s)
                continue
            break
        if status in (401, 403):
            raise NotAllowedError(
                f"HTTP {status} submitting {submission.city}'s reports: "
                "the demo needs an admin token (--token or PACER_TOKEN)"
            )
        if status == 202:
            self.outcome.accepted += 1
        elif status == 200:
            self.outcome.duplicates += 1
        else:
            problems = "; ".join(str(e.get("message")) for e in _errors(body)) or str(body)[:200]
            self.outcome.rejected.append((submission, f"HTTP {status}: {problems}"))
            self.say(f"[red]{submission.report_id} rejected[/]: {escape(problems)}")
        self.poll()

    def _month_line(self, period: Period) -> None:
        self.poll(force=True)
        progress = self.api.progress()
        programs = progress["province"]["programs"]
        rollout = next((p for p in programs.values() if p.get("kind") == "site_rollout"), None)
        figures = ""
        if rollout is not None:
            sites = rollout["sites"]
            figures = (
                f" · new 5G sites {sites['new']:,} of {sites['target_new']:,}"
                f" (plan to date {sites['planned_new_to_date']:,.0f}, {rollout['status']})"
            )
        self.say(
            f"{day(self.clock.now())}  reports for [bold]{period}[/] are in{figures}"
            f" · alerts active {len(self.watch.active)}"
            f" (+{self._fired} fired, -{self._resolved} resolved this month)"
        )
        self._fired = self._resolved = 0
