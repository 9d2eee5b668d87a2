"""The server's "now" as the demo sees it: read from ``GET .../progress`` (``as_of``), then
extrapolated at the clock's speed, so the demo can wait for an instant without asking every time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

CALIBRATION_GAP_S = 0.5


@dataclass
class ServerClock:
    read: Callable[[], datetime]
    """Asks the server for its now."""
    speed: float | None = None
    """Simulated seconds per real second; None: measure it."""
    real: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _first: tuple[float, datetime] | None = field(default=None, init=False)
    _last: tuple[float, datetime] | None = field(default=None, init=False)

    def sync(self) -> datetime:
        """Read the server's now; with two readings far enough apart, the speed follows."""
        before = self.real()
        now = self.read()
        sample = ((before + self.real()) / 2, now)
        self._first = self._first or sample
        self._last = sample
        return now

    def calibrate(self) -> float:
        """The clock's speed: given, else measured over two readings (0 for a fixed clock)."""
        self.sync()
        if self.speed is None:
            self.sleep(CALIBRATION_GAP_S)
            self.sync()
            assert self._first is not None and self._last is not None
            elapsed = self._last[0] - self._first[0]
            self.speed = max(0.0, (self._last[1] - self._first[1]).total_seconds() / elapsed)
            if self.speed < 0.01:  # a fixed clock, give or take the reading's jitter
                self.speed = 0.0
        return self.speed

    def now(self) -> datetime:
        if self._last is None:
            return self.sync()
        real, server = self._last
        return server + timedelta(seconds=(self.real() - real) * (self.speed or 0.0))

    def real_seconds_until(self, instant: datetime) -> float | None:
        """Real seconds until the server's clock shows ``instant``; None if it never will."""
        ahead = (instant - self.now()).total_seconds()
        if ahead <= 0:
            return 0.0
        if not self.speed:
            return None
        return ahead / self.speed


class StoryClock(Protocol):
    """The server's "now" as the demo knows it: measured (``ServerClock``) or steered
    (``demo_system.ClockControl``)."""

    def now(self) -> datetime: ...

    def sync(self) -> datetime: ...

    def real_seconds_until(self, instant: datetime) -> float | None: ...
