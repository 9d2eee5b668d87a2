"""The one source of "now" for every service (``PACER_CLOCK``).

- ``system``: the real time.
- ``fixed:<ISO-8601 instant>``: always that instant.
- ``offset:<ISO-8601 instant>``: starts at that instant and advances in real time. An optional
  ``;since=<unix seconds>`` pins the real moment that corresponds to the instant, so several
  processes started at different times share one timeline (``pacer up`` adds it). An optional
  ``;speed=<factor>`` makes it run that many times faster than real time (``pacer demo``: a
  month in a few seconds).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


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


def system_clock() -> Clock:
    return Clock("system", lambda: datetime.now(UTC))


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
        for option in options:
            name, _, value = option.partition("=")
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
        return Clock(spec, lambda: start + timedelta(seconds=(time.time() - since) * speed))
    raise ClockError(
        f"PACER_CLOCK must be system, fixed:<instant> or offset:<instant>; got {spec!r}"
    )
