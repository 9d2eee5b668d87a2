"""The demo's idea of the server's clock, and of which alerts fired and resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.cli.demo_alerts import AlertWatch
from services.cli.demo_clock import ServerClock

START = datetime(2024, 1, 1, tzinfo=UTC)


class FakeServer:
    """A server clock running ``speed`` times faster than a fake real clock."""

    def __init__(self, speed: float) -> None:
        self.real = 100.0
        self.speed = speed

    def now(self) -> datetime:
        return START + timedelta(seconds=(self.real - 100.0) * self.speed)

    def sleep(self, seconds: float) -> None:
        self.real += seconds


def clock_for(server: FakeServer, speed: float | None = None) -> ServerClock:
    return ServerClock(server.now, speed=speed, real=lambda: server.real, sleep=server.sleep)


def test_measures_the_speed_and_extrapolates_between_readings() -> None:
    server = FakeServer(speed=86_400)  # a day per second
    clock = clock_for(server)
    assert clock.calibrate() == 86_400
    server.sleep(2)
    assert clock.now() == server.now()
    assert clock.real_seconds_until(server.now() + timedelta(days=3)) == 3


def test_a_fixed_clock_never_reaches_a_later_instant() -> None:
    server = FakeServer(speed=0)
    clock = clock_for(server)
    assert clock.calibrate() == 0
    assert clock.real_seconds_until(START + timedelta(seconds=1)) is None
    assert clock.real_seconds_until(START - timedelta(days=1)) == 0


def test_a_given_speed_is_not_measured() -> None:
    server = FakeServer(speed=10)
    clock = clock_for(server, speed=10)
    clock.calibrate()
    assert server.real == 100.0  # no calibration pause


def alert(fingerprint: str, city: str, name: str = "FiveGBehindPlan") -> dict[str, Any]:
    return {
        "fingerprint": fingerprint,
        "labels": {"alertname": name, "city": city, "severity": "warning"},
        "annotations": {"summary": f"{city} is behind"},
        "startsAt": "2024-03-01T00:00:00+00:00",
    }


def test_alert_watch_sees_alerts_appear_and_go() -> None:
    answers = [
        [alert("a", "jinan")],
        [alert("a", "jinan"), alert("b", "heze")],
        [alert("b", "heze")],
    ]
    watch = AlertWatch(lambda: answers.pop(0))
    fired, resolved = watch.poll(START)
    assert [a.city for a in fired] == ["jinan"] and not resolved
    fired, resolved = watch.poll(START + timedelta(days=1))
    assert [a.city for a in fired] == ["heze"] and not resolved
    assert watch.is_active("FiveGBehindPlan", city="jinan")
    fired, resolved = watch.poll(START + timedelta(days=2))
    assert not fired and [a.city for a in resolved] == ["jinan"]
    assert resolved[0].resolved_at == START + timedelta(days=2)
    assert not watch.is_active("FiveGBehindPlan", city="jinan")
    assert [a.fingerprint for a in watch.seen] == ["a", "b"]
    assert [a.fingerprint for a in watch.active] == ["b"]
