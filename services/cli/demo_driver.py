"""Plays a demo scenario against Pacer's HTTP API, on the server's clock.

Each report goes out once the server's clock has passed the instant the city submits it (never a
period in the future); reports whose instants have all passed go out together, a few at once. The
skipping city's late reports wait, in addition, until Pacer has raised ReportOverdue for them (at
most OVERDUE_WAIT_DAYS more): it submits once reminded. Meanwhile the driver polls the active
alerts and prints a line per month. A report the story sends on time that Pacer receives after
its due day means the demo fell behind the accelerated clock: it says so, and the run fails.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rich.markup import escape

from services.cli.api_client import PacerClient
from services.cli.demo_alerts import AlertWatch, SeenAlert
from services.cli.demo_clock import StoryClock
from services.cli.demo_pacing import Pacing
from services.cli.demo_simulation import Scenario, Submission
from shared.domain.calendar import PROVINCE_TZ, Period, due_instant

FUTURE_CODES = {"period_in_future", "as_of_in_future"}
OVERDUE_WAIT_DAYS = 20
POLL_S = 0.25
RESYNC_S = 2.0
FUTURE_RETRIES = 20
SUBMIT_WORKERS = 4
PLAY_OUT_MARGIN = timedelta(days=1)
"""The demo stops this long before the next month's reports would fall due."""


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

    def applied_periods(self) -> dict[tuple[str, str], Period]:
        """The latest month Pacer has applied a report for, per (city, kind)."""
        found: dict[tuple[str, str], Period] = {}
        for city, view in self.progress()["cities"].items():
            for kind, report in view.get("reports", {}).items():
                if report.get("latest_period"):
                    found[city, kind] = Period.parse(report["latest_period"])
        return found


@dataclass
class Outcome:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[Submission, str]] = field(default_factory=list)
    unreachable: list[Submission] = field(default_factory=list)
    """Not submitted: the server's clock will never reach their instant (a fixed clock)."""
    after_due: list[Submission] = field(default_factory=list)
    """Sent on time by the story, received after their due day: the demo fell behind."""


def day(instant: datetime) -> str:
    return instant.astimezone(PROVINCE_TZ).date().isoformat()


def _local_day(iso: str) -> str:
    try:
        return day(datetime.fromisoformat(iso))
    except ValueError:
        return iso


def _errors(body: Any) -> list[dict[str, Any]]:
    errors = body.get("errors", []) if isinstance(body, dict) else []
    return [e for e in errors if isinstance(e, dict)]


@dataclass
class Driver:
    api: DemoApi
    clock: StoryClock
    watch: AlertWatch
    say: Callable[[str], None]
    featured: Callable[[SeenAlert], bool] = lambda alert: False
    """Alerts printed one by one as they fire and resolve (the others are counted)."""
    story_ends: datetime | None = None
    """From this instant on the demo stops watching the alerts: the story is over."""
    due_day: int = 10
    first_due_period: Period | None = None
    """Reports for earlier months (the cities' opening reports) have no due day."""
    pacing: Pacing | None = None
    """The demo's hand on a private Pacer's clock (``--start``); None for a Pacer run by hand."""
    poll_s: float = POLL_S
    sleep: Callable[[float], None] = time.sleep
    outcome: Outcome = field(default_factory=Outcome)
    _last_poll: float = 0.0
    _last_sync: float = 0.0
    _fired: int = 0
    _resolved: int = 0

    def run(self, scenario: Scenario) -> Outcome:
        pending = list(scenario.submissions)
        announced: set[Period] = set()
        while pending:
            if not self._wait_for(pending[0]):
                self.outcome.unreachable = pending
                break
            burst = self._burst(pending)
            del pending[: len(burst)]
            self._submit_all(burst)
            self.poll()
            owed = {s.period for s in pending if not s.late}
            for period in sorted({s.period for s in burst if not s.late} - owed - announced):
                if self.pacing is not None:
                    self.pacing.settle()  # the clock stands: show the month Pacer has applied
                self._month_line(period)
                announced.add(period)
        if self.pacing is not None and self.story_ends is not None and not self.outcome.unreachable:
            # Play the story out on a clock the demo steers (which then stands): what the last
            # reports start, such as the resolutions after PACER_RESOLVE_HOLD, happens too.
            self._wait(self.story_ends - PLAY_OUT_MARGIN)
        self.poll()
        return self.outcome

    def _burst(self, pending: list[Submission]) -> list[Submission]:
        """The first pending report (its instant has come) and those after it whose instant
        has come too, up to a late one (which waits for its reminder)."""
        now = self.clock.now()
        burst = [pending[0]]
        for submission in pending[1:]:
            if burst[0].late or submission.late or submission.at > now:
                break
            burst.append(submission)
        return burst

    def poll(self, force: bool = False) -> None:
        """Poll the alerts (and now and then the clock), at most every ``poll_s``."""
        real = time.monotonic()
        if real - self._last_sync >= RESYNC_S:
            self.clock.sync()
            self._last_sync = real
        if not force and real - self._last_poll < self.poll_s:
            return
        self._last_poll = real
        now = self.clock.now()
        if self.story_ends is not None and now >= self.story_ends:
            return  # past the story: every city owes its next report, none will come
        fired, resolved = self.watch.poll(now)
        self._fired += len(fired)
        self._resolved += len(resolved)
        for alert in filter(self.featured, fired):
            self.say(f"    [red]▲[/] {_local_day(alert.starts_at)} {self._describe(alert)}")
        for alert in filter(self.featured, resolved):
            self.say(f"    [green]▼[/] {day(now)} resolved: {self._describe(alert)}")

    def _describe(self, alert: SeenAlert) -> str:
        labels = alert.labels
        return escape(f"{labels.get('severity', '')} {alert.name}: {alert.summary}")

    def _wait(self, instant: datetime, until: Callable[[], bool] | None = None) -> bool:
        """Wait until the server's clock passes ``instant`` (or ``until()`` holds, if given),
        stopping before each due day on the way until Pacer has applied what was sent."""
        while self.pacing is not None and (guard := self.pacing.next_guard(instant)):
            stop, due = guard
            if until is not None and self._wait_until(stop, until):
                return True  # told before the due day
            if until is None and not self._wait_until(stop, None):
                return False
            self.pacing.settle(due)
        return self._wait_until(instant, until)

    def _wait_until(self, instant: datetime, until: Callable[[], bool] | None) -> bool:
        while until is None or not until():
            remaining = self.clock.real_seconds_until(instant)
            if remaining is None:
                return False
            if remaining <= 0:
                return until is None
            with self.pacing.running() if self.pacing else contextlib.nullcontext():
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

    def _submit_all(self, burst: list[Submission]) -> None:
        """Submit a burst of reports, a few at once: a month's 16 cities report within days,
        and one at a time the demo would fall behind an accelerated clock."""
        if len(burst) == 1:
            answers = [self._post(burst[0])]
        else:
            with ThreadPoolExecutor(max_workers=SUBMIT_WORKERS) as pool:
                answers = list(pool.map(self._post, burst))
        if self.pacing is not None:
            self.pacing.record(burst)
        for submission, (status, body) in zip(burst, answers, strict=True):
            self._record(submission, status, body)

    def _post(self, submission: Submission) -> tuple[int, Any]:
        for _attempt in range(FUTURE_RETRIES):
            status, body = self.api.submit(submission)
            codes = {e.get("code") for e in _errors(body)}
            if status == 422 and codes and codes <= FUTURE_CODES:
                self.clock.sync()  # our idea of the server's time ran ahead of it: wait a little
                self.sleep(self.poll_s)
                continue
            break
        return status, body

    def _record(self, submission: Submission, status: int, body: Any) -> None:
        if status in (401, 403):
            raise NotAllowedError(
                f"HTTP {status} submitting {submission.city}'s reports: "
                "the demo needs an admin token (--token or PACER_TOKEN)"
            )
        if status == 202:
            self.outcome.accepted += 1
            self._check_on_time(submission, body)
        elif status == 200:
            self.outcome.duplicates += 1
        else:
            problems = "; ".join(str(e.get("message")) for e in _errors(body)) or str(body)[:200]
            self.outcome.rejected.append((submission, f"HTTP {status}: {problems}"))
            self.say(f"[red]{submission.report_id} rejected[/]: {escape(problems)}")

    def _check_on_time(self, submission: Submission, body: Any) -> None:
        """A report the story sends on time that Pacer received after its due day: the demo
        fell behind the server's clock, and what Pacer says next is not the story."""
        if submission.late or (
            self.first_due_period is not None and submission.period < self.first_due_period
        ):
            return
        received = body.get("received_at") if isinstance(body, dict) else None
        at = datetime.fromisoformat(received) if received else self.clock.now()
        if at < due_instant(submission.period, self.due_day):
            return
        if not self.outcome.after_due:
            self.say(
                f"[yellow]{day(at)}  the demo fell behind the server's clock: "
                f"{submission.city}'s {submission.period} {submission.kind} report arrived "
                "after its due day, so Pacer rightly says it is overdue; the story no longer "
                "holds (a busy machine? try --seconds-per-month 5)[/]"
            )
        self.outcome.after_due.append(submission)

    def _month_line(self, period: Period) -> None:
        self.poll(force=True)
        progress = self.api.progress()
        programs = progress["province"]["programs"]
        rollout = next((p for p in programs.values() if p.get("kind") == "site_rollout"), None)
        figures = ""
        if rollout is not None:
            sites = rollout["sites"]
            figures = (
                f" · province judged as of {rollout.get('judged_as_of', '-')}:"
                f" {sites['new']:,} new 5G sites of {sites['target_new']:,}"
                f" (plan {sites['planned_new_to_date']:,.0f}, {rollout['status']})"
            )
        self.say(
            f"{day(self.clock.now())}  reports for [bold]{period}[/] are in{figures}"
            f" · alerts active {len(self.watch.active)}"
            f" (+{self._fired} fired, -{self._resolved} resolved)"
        )
        self._fired = self._resolved = 0
