"""The demo's hand on its Pacer's clock: ClockControl holds and runs it, Pacing decides when."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from services.cli.demo_pacing import DUE_GUARD, Pacing
from services.cli.demo_simulation import Submission
from services.cli.demo_system import SIM_START, ClockControl
from shared.clock import parse_clock
from shared.domain.calendar import Period, due_instant

START = datetime.fromisoformat(SIM_START)
SPEED = 86_400.0  # a simulated day per real second


class RealTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def control_at(tmp_path: Path, real: RealTime) -> ClockControl:
    return ClockControl(tmp_path / "clock.control", SPEED, real=real)


def test_the_control_stands_at_the_story_start_until_it_runs_and_a_service_clock_agrees(
    tmp_path: Path,
) -> None:
    real = RealTime()
    control = control_at(tmp_path, real)
    service = parse_clock(control.spec)  # what every service of the private Pacer builds
    real.now += 50
    assert control.held and control.now() == START == service.now()
    assert control.real_seconds_until(START + timedelta(days=3)) == 3.0
    control.run()
    real.now += 2
    assert control.now() == START + timedelta(days=2)
    control.hold()
    real.now += 10
    assert control.now() == START + timedelta(days=2)
    assert "hold=2024-01-03T00:00:00+08:00" in (tmp_path / "clock.control").read_text()
    control.run()  # on from where it stood, not from where the real time would put it
    real.now += 1
    assert control.now() == START + timedelta(days=3)


def sites(city: str, month: Period) -> Submission:
    following = month.next()
    at = datetime(following.year, following.month, 2, 10, tzinfo=START.tzinfo)
    return Submission(city, "5g-sites", month, at, {"report_id": f"{city}-{month}"})


class FakePacer:
    """Applies what it is told to, when the test says."""

    def __init__(self) -> None:
        self.applied: dict[tuple[str, str], Period] = {}
        self.asked = 0

    def periods(self) -> dict[tuple[str, str], Period]:
        self.asked += 1
        return dict(self.applied)


def pacing(tmp_path: Path, pacer: FakePacer, said: list[str]) -> tuple[Pacing, ClockControl]:
    control = control_at(tmp_path, RealTime())
    months = [Period(2024, 1), Period(2024, 2)]
    dues = [due_instant(m, 10) for m in months]
    return Pacing(control, pacer.periods, dues, said.append, sleep=lambda _s: None), control


def test_the_clock_stops_short_of_each_due_day_once(tmp_path: Path) -> None:
    pace, control = pacing(tmp_path, FakePacer(), [])
    due = due_instant(Period(2024, 1), 10)
    assert pace.next_guard(due - timedelta(days=5)) is None  # no due day on the way
    assert pace.next_guard(datetime(2024, 3, 2, tzinfo=START.tzinfo)) == (due - DUE_GUARD, due)
    pace.settle(due)
    assert pace.next_guard(datetime(2024, 3, 12, tzinfo=START.tzinfo)) == (
        due_instant(Period(2024, 2), 10) - DUE_GUARD,
        due_instant(Period(2024, 2), 10),
    )
    late, control = pacing(tmp_path, FakePacer(), [])
    control.hold(due - timedelta(hours=1))  # inside the guard already: stop where it stands
    assert late.next_guard(due + timedelta(days=1)) == (due - timedelta(hours=1), due)


def test_settling_waits_until_every_report_sent_is_applied(tmp_path: Path) -> None:
    pacer = FakePacer()
    said: list[str] = []
    pace, _control = pacing(tmp_path, pacer, said)
    pace.record([sites("jinan", Period(2024, 1)), sites("heze", Period(2024, 1))])
    checks: list[int] = []

    def apply_on_third_look(_seconds: float) -> None:
        checks.append(pacer.asked)
        if pacer.asked == 3:
            pacer.applied = {
                ("jinan", "5g-sites"): Period(2024, 1),
                ("heze", "5g-sites"): Period(2024, 1),
            }

    pace.sleep = apply_on_third_look
    pace.settle()
    assert pacer.asked == 4 and checks == [1, 2, 3] and said == []


def test_a_report_sent_close_to_its_due_day_is_settled_at_once(tmp_path: Path) -> None:
    pacer = FakePacer()
    pace, control = pacing(tmp_path, pacer, [])
    pacer.applied = {("jinan", "5g-sites"): Period(2024, 1)}
    control.hold(datetime(2024, 2, 2, tzinfo=START.tzinfo))
    pace.record([sites("jinan", Period(2024, 1))])
    assert pacer.asked == 0  # eight days from the due day: the guard will see to it
    control.hold(datetime(2024, 2, 9, 12, tzinfo=START.tzinfo))
    pace.record([sites("jinan", Period(2024, 1))])
    assert pacer.asked == 1
