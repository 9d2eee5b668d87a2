"""PACER_CLOCK: system, fixed and offset clocks (shared/clock.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

import shared.clock
from shared.clock import (
    ClockError,
    fixed_clock,
    parse_clock,
    parse_instant,
    write_clock_control,
)
from shared.settings import Settings

REAL_START = 1_700_000_000.0  # an arbitrary real moment, in unix seconds


class FakeTime:
    """Stands in for ``time.time`` so an offset clock can be advanced by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime(REAL_START)
    monkeypatch.setattr(time, "time", fake)  # what shared.clock reads; restored after the test
    return fake


@pytest.mark.parametrize("spec", ["system", "", "  system  "])
def test_system_clock_reads_the_real_time(spec: str) -> None:
    clock = parse_clock(spec)
    before = datetime.now(UTC)
    now = clock.now()
    after = datetime.now(UTC)
    assert clock.spec == "system"
    assert before <= now <= after
    assert now.tzinfo is not None


@pytest.mark.parametrize(
    ("spec", "instant"),
    [
        ("fixed:2024-07-15T12:00:00+08:00", datetime(2024, 7, 15, 4, 0, tzinfo=UTC)),
        ("fixed:2024-07-15T04:00:00Z", datetime(2024, 7, 15, 4, 0, tzinfo=UTC)),
        ("fixed:2024-07-15T04:00:00+00:00", datetime(2024, 7, 15, 4, 0, tzinfo=UTC)),
        ("fixed:2024-12-31T23:59:59.5+08:00", datetime(2024, 12, 31, 15, 59, 59, 500_000, UTC)),
    ],
)
def test_fixed_clock_always_returns_its_instant_in_utc(spec: str, instant: datetime) -> None:
    clock = parse_clock(spec)
    assert clock.spec == spec
    assert clock.now() == instant
    assert clock.now() == instant
    assert clock.now().utcoffset() == timedelta(0)


def test_fixed_clock_built_in_code_matches_the_parsed_one() -> None:
    instant = datetime(2024, 7, 15, 4, 0, tzinfo=UTC)
    clock = fixed_clock(instant)
    assert clock.now() == instant
    assert parse_clock(clock.spec).now() == instant


def test_offset_clock_starts_at_its_instant_and_advances_in_real_time(
    fake_time: FakeTime,
) -> None:
    clock = parse_clock("offset:2024-07-15T12:00:00+08:00")
    start = datetime(2024, 7, 15, 4, 0, tzinfo=UTC)
    assert clock.now() == start
    fake_time.now += 90.5
    assert clock.now() == start + timedelta(seconds=90.5)
    fake_time.now += 3600
    assert clock.now() == start + timedelta(seconds=3690.5)


def test_offset_clock_with_since_is_pinned_to_that_real_moment(fake_time: FakeTime) -> None:
    clock = parse_clock(f"offset:2024-07-15T04:00:00Z;since={REAL_START - 60}")
    assert clock.now() == datetime(2024, 7, 15, 4, 1, tzinfo=UTC)


def test_offset_clocks_sharing_since_agree_whenever_they_were_parsed(
    fake_time: FakeTime,
) -> None:
    first = parse_clock("offset:2024-07-15T04:00:00Z").pinned()
    fake_time.now += 30
    second = parse_clock(first.spec)
    assert second.spec == first.spec
    assert first.now() == second.now() == datetime(2024, 7, 15, 4, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "spec", ["system", "fixed:2024-07-15T04:00:00Z", "offset:2024-07-15T04:00:00Z;since=5"]
)
def test_pinning_leaves_clocks_without_a_floating_anchor_alone(spec: str) -> None:
    clock = parse_clock(spec)
    assert clock.pinned() is clock


def test_pinning_an_offset_clock_records_the_real_moment(fake_time: FakeTime) -> None:
    pinned = parse_clock("offset:2024-07-15T04:00:00Z").pinned()
    assert pinned.spec == f"offset:2024-07-15T04:00:00Z;since={REAL_START:.3f}"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sytem", "must be system, fixed:<instant> or offset:<instant>"),
        ("fixed", "must be system, fixed:<instant> or offset:<instant>"),
        ("now", "must be system, fixed:<instant> or offset:<instant>"),
        ("fixed:", "not an ISO-8601 instant"),
        ("fixed:yesterday", "not an ISO-8601 instant"),
        ("fixed:2024-13-01T00:00:00Z", "not an ISO-8601 instant"),
        ("fixed:2024-07-15T12:00:00", "needs a UTC offset"),
        ("fixed:2024-07-15", "needs a UTC offset"),
        ("offset:2024-07-15T12:00:00", "needs a UTC offset"),
        ("offset:soon", "not an ISO-8601 instant"),
        ("offset:2024-07-15T04:00:00Z;until=5", "unknown clock option 'until'"),
        ("offset:2024-07-15T04:00:00Z;since=", "since must be unix seconds"),
        ("offset:2024-07-15T04:00:00Z;since=noon", "since must be unix seconds"),
        ("offset:2024-07-15T04:00:00Z;since=nan", "since must be unix seconds"),
        ("offset:2024-07-15T04:00:00Z;since=inf", "since must be unix seconds"),
        ("offset:2024-07-15T04:00:00Z;speed=0", "speed must be a factor above 0"),
        ("offset:2024-07-15T04:00:00Z;speed=-2", "speed must be a factor above 0"),
        ("offset:2024-07-15T04:00:00Z;speed=fast", "speed must be a factor above 0"),
    ],
)
def test_a_bad_clock_spec_raises_clock_error(spec: str, message: str) -> None:
    with pytest.raises(ClockError, match=message):
        parse_clock(spec)


def test_clock_error_is_a_value_error() -> None:
    assert issubclass(ClockError, ValueError)


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2024-07-15T12:00:00+08:00", datetime(2024, 7, 15, 4, 0, tzinfo=UTC)),
        ("2024-07-15T04:00:00Z", datetime(2024, 7, 15, 4, 0, tzinfo=UTC)),
        ("2024-07-14T23:00:00-05:00", datetime(2024, 7, 15, 4, 0, tzinfo=UTC)),
    ],
)
def test_parse_instant_returns_utc(text: str, instant: datetime) -> None:
    parsed = parse_instant(text)
    assert parsed == instant
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "spec", ["system", "fixed:2024-07-15T12:00:00+08:00", "offset:2024-07-15T12:00:00+08:00"]
)
def test_settings_accept_a_good_clock_spec(spec: str) -> None:
    settings = Settings(clock=spec)
    assert settings.make_clock().spec == spec


@pytest.mark.parametrize(
    "spec", ["sytem", "fixed:2024-07-15T12:00:00", "offset:2024-07-15T04:00:00Z;since=nan"]
)
def test_settings_reject_a_bad_clock_spec(spec: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(clock=spec)
    (error,) = raised.value.errors()
    assert error["loc"] == ("clock",)


def test_an_offset_clock_with_a_speed_runs_that_many_times_faster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_000.0)
    clock = parse_clock("offset:2024-01-01T00:00:00+08:00;since=1000;speed=86400")
    monkeypatch.setattr(time, "time", lambda: 1_002.5)
    assert clock.now() == datetime(2024, 1, 3, 12, 0, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def control(tmp_path: Path, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A control file, read on every call (no re-read interval), for a clock on fake time."""
    monkeypatch.setattr(shared.clock, "CONTROL_REREAD_S", 0.0)
    return tmp_path / "clock.control"


def test_a_controlled_clock_stands_at_a_hold_and_runs_on_from_a_new_anchor(
    control: Path, fake_time: FakeTime
) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    write_clock_control(control, hold=start)
    clock = parse_clock(f"offset:2024-01-01T00:00:00Z;speed=60;control={control}")
    fake_time.now += 100
    assert clock.now() == start  # held, however much real time passes
    write_clock_control(control, since=fake_time.now)
    fake_time.now += 10
    assert clock.now() == start + timedelta(minutes=10)  # 10 real seconds at 60x
    held = clock.now()
    write_clock_control(control, hold=held)
    fake_time.now += 10
    assert clock.now() == held
    write_clock_control(control, since=fake_time.now - 10)  # on from where it stood
    assert clock.now() == held


def test_a_controlled_clock_keeps_its_last_good_anchor_when_the_file_is_missing_or_bad(
    control: Path, fake_time: FakeTime
) -> None:
    clock = parse_clock(f"offset:2024-01-01T00:00:00Z;since={REAL_START};control={control}")
    assert clock.now() == datetime(2024, 1, 1, tzinfo=UTC)  # no file yet: the spec's anchor
    write_clock_control(control, hold=datetime(2024, 5, 1, tzinfo=UTC))
    assert clock.now() == datetime(2024, 5, 1, tzinfo=UTC)
    for bad in ("hold=tomorrow", "since=nan", "since=", "stop"):
        control.write_text(bad, encoding="utf-8")
        assert clock.now() == datetime(2024, 5, 1, tzinfo=UTC), bad
    control.unlink()
    assert clock.now() == datetime(2024, 5, 1, tzinfo=UTC)


def test_writing_the_control_takes_one_anchor_and_leaves_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "clock.control"
    with pytest.raises(ValueError, match="since or hold"):
        write_clock_control(path)
    with pytest.raises(ValueError, match="since or hold"):
        write_clock_control(path, since=1.0, hold=datetime(2024, 1, 1, tzinfo=UTC))
    write_clock_control(path, since=1_700_000_000.25)
    assert path.read_text() == "since=1700000000.25\n"
    assert [p.name for p in tmp_path.iterdir()] == ["clock.control"]


def test_settings_accept_a_controlled_clock(tmp_path: Path) -> None:
    spec = f"offset:2024-01-01T00:00:00+08:00;speed=1000;control={tmp_path / 'clock.control'}"
    assert Settings(clock=spec).make_clock().spec == spec
