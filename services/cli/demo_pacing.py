"""How ``pacer demo --start`` keeps its private Pacer's clock in step with the story.

The story says when each city reports. On a clock that runs on by itself the demo can be slower
than that: on a busy machine sending a month's 32 reports, polling the alerts or reading the
progress takes longer than the simulated days it has, a report reaches Pacer after its due day,
and Pacer rightly says it is overdue, which is not the story. With its hand on the clock
(``ClockControl``) the demo instead lets the clock run only while it waits for the next moment of
the story, and holds it while it works, so each report reaches Pacer when the story says (give or
take the overshoot of one sleep); and before each due day it holds the clock until Pacer has
applied every report sent, so no evaluation at the due day counts as missing a report that is
only waiting in a stream. On a quiet machine the story takes its nominal time and a little more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.cli.demo_simulation import Submission
from services.cli.demo_system import ClockControl
from shared.domain.calendar import Period

DUE_GUARD = timedelta(days=2)
"""The clock stops this far ahead of a due day until every report sent is applied."""
APPLY_TIMEOUT_S = 60.0

Applied = dict[tuple[str, str], Period]
"""The latest month Pacer has applied a report for, per (city, kind)."""


@dataclass
class Pacing:
    control: ClockControl
    applied: Callable[[], Applied]
    """Asks Pacer (``GET /v1/progress``: each city's latest period per kind)."""
    due_instants: list[datetime]
    """When each month's reports fall due, in order."""
    say: Callable[[str], None]
    sleep: Callable[[float], None] = time.sleep
    sent: Applied = field(default_factory=dict)
    _guarded: set[datetime] = field(default_factory=set)

    @contextmanager
    def running(self) -> Iterator[None]:
        """The clock runs for the duration (the demo sleeping), and stands again after."""
        self.control.run()
        try:
            yield
        finally:
            self.control.hold()

    def record(self, burst: list[Submission]) -> None:
        """Note what was sent; close to a due day, wait until Pacer has applied it."""
        for submission in burst:
            key = (submission.city, submission.kind)
            self.sent[key] = max(self.sent.get(key, submission.period), submission.period)
        now = self.control.now()
        if any(now < due <= now + DUE_GUARD for due in self.due_instants):
            self.settle()

    def next_guard(self, before: datetime) -> tuple[datetime, datetime] | None:
        """(where to stop, the due day) before the first due day the clock would pass on its
        way to ``before`` and has not stopped for yet; None if it passes none."""
        now = self.control.now()
        for due in self.due_instants:
            if now < due <= before and due not in self._guarded:
                return max(now, due - DUE_GUARD), due
        return None

    def settle(self, due: datetime | None = None) -> None:
        """Wait, the clock standing, until Pacer has applied every report sent so far."""
        if due is not None:
            self._guarded.add(due)
        deadline = time.monotonic() + APPLY_TIMEOUT_S
        while not self._all_applied():
            if time.monotonic() > deadline:
                self.say("[yellow]Pacer has not applied every report after 60 s: on.[/]")
                return
            self.sleep(0.1)

    def _all_applied(self) -> bool:
        applied = self.applied()
        return all(applied.get(key, Period(1, 1)) >= month for key, month in self.sent.items())
