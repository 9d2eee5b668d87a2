"""The one source of "now" for every service (``PACER_CLOCK``).

- ``system``: the real time.
- ``fixed:<ISO-8601 instant>``: always that instant.
- ``offset:<ISO-8601 instant>``: starts at that instant and advances in real time. An optional
  ``;since=<unix seconds>`` pins the real moment that corresponds to the instant, so several
  processes started at different times share one timeline (``pacer up`` adds it). An optional
  ``;speed=<factor>`` makes it run that many times faster than real time (``pacer demo``: a
  month in a few seconds). An optional ``;control=<path>`` lets one program steer the timeline
  of every process: the file holds ``since=<unix seconds>`` (the clock runs from the instant at
  that real moment, at its speed) or ``hold=<ISO-8601 instant>`` (it stands still there); each
  process reads it again whenever it changes, and keeps the last good content if it is missing
  or unreadable. ``pacer demo`` holds its private Pacer at the story's first day until every
  service is ready, and whenever the cities' reports would otherwise reach it late.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path


class ClockError(ValueError):
    pass


def parse_instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ClockError(f"not an ISO-8601 instant: {text!r}") from exc
    if instant.tzinfo is None:
        raise ClockError(f"the instant needs a UTC offset (e.g. +08:00): {text!r}")
    return instant.astimezone(UTC)


@dataclass(frozen=True)
class Clock:
    """Returns aware UTC datetimes. ``spec`` is the PACER_CLOCK text it came from."""

    spec: str
    _now: Callable[[], datetime] = field(repr=False)

    def now(self) -> datetime:
        return self._now()

    def pinned(self) -> Clock:
        """The same clock with its real-time anchor fixed now, for sharing with other processes."""
        if self.spec.startswith("offset:") and ";since=" not in self.spec:
            return parse_clock(f"{self.spec};since={time.time():.3f}")
        return self


def wall_time() -> float:
    """The real time, in seconds since the epoch, whatever ``PACER_CLOCK`` says.

    ``PACER_CLOCK`` is the one source of "now" for everything Pacer judges: reports, deadlines,
    alerts. Three things outside Pacer's timeline run on the real time instead, and call this
    (nothing else reads the system time; ruff's banned-api rule in ``make lint`` keeps it so):

    - the delivery worker's retry schedule and the fan-out's due times: a receiver that is down
      is down in real time, and a demo clock running a month a second would otherwise spend
      every retry in an instant;
    - a webhook's signed timestamp: the receiver checks it against its own clock (Standard
      Webhooks: five minutes either way), so a simulated date would be refused as a replay;
    - the ``endsAt`` lease sent to Alertmanager, which it judges by its own clock.

    Durations (timeouts, rate limits, sessions) are measured on ``time.monotonic``, which is no
    "now" at all. ``pacer`` itself (supervising processes, steering the demo's clock) runs on the
    real time: it is the operator's tool, not a judge.
    """
    return time.time()


def wall_now() -> datetime:
    """``wall_time`` as an aware UTC datetime."""
    return datetime.fromtimestamp(wall_time(), UTC)


def system_clock() -> Clock:
    return Clock("system", wall_now)


def fixed_clock(instant: datetime) -> Clock:
    return Clock(f"fixed:{instant.isoformat()}", lambda: instant)


def parse_clock(spec: str) -> Clock:
    spec = spec.strip()
    if spec in ("", "system"):
        return system_clock()
    if spec.startswith("fixed:"):
        instant = parse_instant(spec.removeprefix("fixed:"))
        return Clock(spec, lambda: instant)
    if spec.startswith("offset:"):
        instant_text, *options = spec.removeprefix("offset:").split(";")
        start = parse_instant(instant_text)
        values = {"since": time.time(), "speed": 1.0}
        control: Path | None = None
        for option in options:
            name, _, value = option.partition("=")
            if name == "control" and value:
                control = Path(value)
                continue
            if name not in values:
                raise ClockError(f"unknown clock option {name!r} in {spec!r}")
            meaning = "unix seconds" if name == "since" else "a factor above 0"
            try:
                values[name] = float(value)
            except ValueError as exc:
                raise ClockError(f"{name} must be {meaning}, got {value!r}") from exc
            if not math.isfinite(values[name]) or (name == "speed" and values[name] <= 0):
                raise ClockError(f"{name} must be {meaning}, got {value!r}")
        since, speed = values["since"], values["speed"]
        if control is not None:
            return Clock(spec, _ControlledTimeline(start, speed, since, control).now)
        return Clock(spec, lambda: start + timedelta(seconds=(time.time() - since) * speed))
    raise ClockError(
        f"PACER_CLOCK must be system, fixed:<instant> or offset:<instant>; got {spec!r}"
    )


CONTROL_REREAD_S = 0.001
"""A process reads the control file at most this often (real seconds): 1,000 reads a second at
most, and a change reaches it within a millisecond (17 simulated minutes at the demo's speed)."""


@dataclass
class _ControlledTimeline:
    """An offset clock whose anchor a control file moves (see the module docstring)."""

    start: datetime
    speed: float
    since: float
    path: Path
    held: datetime | None = None
    _read_at: float = -math.inf
    """``time.monotonic()`` of the last read."""

    def now(self) -> datetime:
        self._refresh()
        if self.held is not None:
            return self.held
        return self.start + timedelta(seconds=(time.time() - self.since) * self.speed)

    def _refresh(self) -> None:
        real = time.monotonic()
        if real - self._read_at < CONTROL_REREAD_S:
            return
        self._read_at = real
        try:
            name, _, value = self.path.read_text(encoding="utf-8").strip().partition("=")
            if name == "since" and math.isfinite(since := float(value)):
                self.since, self.held = since, None
            elif name == "hold":
                self.held = parse_instant(value)
        except (OSError, ValueError):  # missing, unreadable or malformed: the last good stands
            return


def write_clock_control(
    path: Path, *, since: float | None = None, hold: datetime | None = None
) -> None:
    """Point every clock reading ``path`` at a new anchor (``since``, unix seconds) or stop it
    at ``hold``, atomically: a reader sees the old content or the new, never half of either."""
    if since is not None and hold is None:
        text = f"since={since!r}"
    elif hold is not None and since is None:
        text = f"hold={hold.isoformat()}"
    else:
        raise ValueError("give since or hold")
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(text + "\n", encoding="utf-8")
    os.replace(partial, path)
