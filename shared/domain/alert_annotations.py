"""The words of an alert: its ``summary`` and ``description`` annotations, with the numbers.

Every number is formatted the same way every time, so one state always gives the same text.
Attainment is truncated rather than rounded: 0.8999 reads 0.899, never as the 0.90 it misses.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal

from shared.domain.calendar import PROVINCE_TZ, Period
from shared.domain.plan import TRAILING_RATE_DAYS, ProjectionKind
from shared.domain.progress import GigabitProgress, IndicatorStanding, ReportStanding, SiteProgress
from shared.domain.targets import Indicator, ProgramKind, SiteProgram

PROVINCE = "The province"
"""The subject of province-wide alerts."""


def behind_plan(subject: str, program: SiteProgram, progress: SiteProgress) -> dict[str, str]:
    return {
        "summary": f"{subject} is behind plan on {program.id} "
        f"(attainment {_ratio(progress.attainment)} as of {progress.judged_as_of})",
        "description": _site_facts(program, progress),
    }


def projected_miss(subject: str, program: SiteProgram, progress: SiteProgress) -> dict[str, str]:
    return {
        "summary": f"{subject} is projected to miss {program.id}: "
        f"{_projection(progress)}, deadline {program.deadline}",
        "description": _site_facts(program, progress),
    }


def target_missed(subject: str, program: SiteProgram, progress: SiteProgress) -> dict[str, str]:
    return {
        "summary": f"{subject} missed {program.id}: {_count(_to_go(progress))} sites short "
        f"of the target at the deadline {program.deadline}",
        "description": _site_facts(program, progress),
    }


def indicator_below_threshold(
    subject: str, program_id: str, progress: GigabitProgress, standing: IndicatorStanding
) -> dict[str, str]:
    indicator, reading = standing.indicator, standing.reading
    assert reading is not None  # a missing value is not below its threshold
    value = _value(indicator, reading.value)
    return {
        "summary": f"{subject}: {indicator.key} is {value} on {program_id}, "
        f"needs {_requirement(indicator)}",
        "description": f"{indicator.meaning} ({indicator.key}): value in force at the end of "
        f"{progress.judged_as_of} is {value} (as of {reading.as_of}, report {reading.report_id}); "
        f"rule {_requirement(indicator)}, {_verification(indicator)}. "
        f"The deadline is the {_end_of(progress.deadline)}.",
    }


def standard_not_met(subject: str, progress: GigabitProgress) -> dict[str, str]:
    failing = [s for s in progress.thresholded if not s.passing]
    details = "; ".join(_failure(s) for s in failing)
    return {
        "summary": f"{subject} did not meet {progress.program} by {progress.deadline}: "
        f"{len(failing)} of {len(progress.thresholded)} indicators fail",
        "description": f"{progress.passing_count} of {len(progress.thresholded)} indicators with "
        f"a threshold pass on their value at the deadline. Failing: {details}. "
        f"The deadline was the {_end_of(progress.deadline)}.",
    }


def report_overdue(subject: str, standing: ReportStanding, due_day: int) -> dict[str, str]:
    first, latest = standing.missing[0], standing.missing[-1]
    count = len(standing.missing)
    months = f"{count} month" + ("s" if count != 1 else "")
    if count == 1:
        which = f"the {standing.kind} report for {latest} is overdue"
    else:
        which = f"{standing.kind} reports are overdue for {months}, {first} to {latest}"
    if standing.last_received is None:
        last = f"no {standing.kind} report received yet"
    else:
        last = f"last {standing.kind} report received {_instant(standing.last_received)}"
    closing = (
        " A missing month closes a programme whose deadline has passed."
        if standing.critical
        else ""
    )
    return {
        "summary": f"{subject}: {which} (due {_due_date(latest, due_day)})",
        "description": f"Missing since {first} ({months}); the report for {latest} was due by "
        f"the {_end_of(_due_date(latest, due_day))}; {last}.{closing}",
    }


# --- the facts of a site programme --------------------------------------------------------------


def _site_facts(program: SiteProgram, progress: SiteProgress) -> str:
    """actual, expected, shortfall, attainment, target, deadline and projected completion, all
    at the judgement day."""
    judged = progress.judged_as_of
    actual = f"actual {_count(progress.new_sites)} new sites since {program.start}"
    expected = f"expected {_count(progress.planned_new)} by the end of {judged}"
    target = f"target {_count(progress.target_new)} new sites"
    if progress.kind is ProgramKind.SITE_DENSITY:
        actual += (
            f" ({_count(progress.in_service)} in service, "
            f"{_density(progress.density_per_10k)} per 10k)"
        )
        expected += f" ({_density(progress.planned_density_per_10k)} per 10k)"
        target += f" ({_density(progress.target_density_per_10k)} per 10k)"
    if progress.required_new > progress.target_new:
        target += f" and {_count(progress.baseline_sites + progress.required_new)} in service"
    tolerances = program.tolerances
    facts = [
        f"judged as of {judged} (the day its reports cover)",
        actual,
        expected,
        f"shortfall {_count(max(0.0, progress.planned_new - progress.new_sites))}",
        f"attainment {_ratio(progress.attainment)} (warning below {_plain(tolerances.warning)}, "
        f"critical below {_plain(tolerances.critical)})",
        f"{target} by the {_end_of(program.deadline)}, {_count(_to_go(progress))} to go",
        f"projected completion: {_projection(progress)}",
    ]
    return "; ".join(facts) + "."


def _projection(progress: SiteProgress) -> str:
    """The projection in words; never a date the calendar cannot hold."""
    projection = progress.projection
    if projection is None or projection.kind is None:
        return "none yet (no reported days to measure a rate over)"
    rate = f"{projection.daily_rate:.2f} sites/day"
    trailing = f"trailing {TRAILING_RATE_DAYS}-day rate {rate}"
    if projection.kind is ProjectionKind.MET:
        return "target reached"
    if projection.kind is ProjectionKind.NEVER:
        return f"never at the current rate ({trailing})"
    if projection.kind is ProjectionKind.BEYOND_HORIZON:
        return f"not before {projection.horizon} at {rate}"
    return f"{projection.completion} at the {trailing}"


def _to_go(progress: SiteProgress) -> int:
    return max(0, progress.required_new - progress.new_sites)


# --- indicators and reports ---------------------------------------------------------------------


def _failure(standing: IndicatorStanding) -> str:
    indicator = standing.indicator
    if standing.reading is None:
        value = "not reported"
    else:
        value = _value(indicator, standing.reading.value)
    return f"{indicator.key} {value} (needs {_requirement(indicator)}, {_verification(indicator)})"


def _requirement(indicator: Indicator) -> str:
    assert indicator.threshold is not None
    return f"{indicator.rule} {_value(indicator, indicator.threshold)}"


def _verification(indicator: Indicator) -> str:
    if indicator.verified:
        return "threshold verified"
    if indicator.source:
        return f"threshold not verified: {indicator.source}"
    return "threshold not verified"


def _value(indicator: Indicator, value: float) -> str:
    if indicator.unit == "percent":
        return f"{_plain(value)}%"
    return f"{_plain(value)} {indicator.unit}"


def _due_date(period: Period, due_day: int) -> date:
    following = period.next()
    return date(following.year, following.month, due_day)


# --- numbers, days and instants -----------------------------------------------------------------


def _count(value: float) -> str:
    """Sites: 1,234, or to one decimal when planned sites are fractional (3,172.5)."""
    return f"{value + 0.0:,.1f}".removesuffix(".0")


def _ratio(value: float | None) -> str:
    """Attainment to three decimals, truncated."""
    if value is None:
        return "n/a"
    return str(Decimal(repr(value)).quantize(Decimal("0.001"), rounding=ROUND_FLOOR))


def _density(value: float) -> str:
    return f"{value:.2f}"


def _plain(value: float) -> str:
    """A reported value, threshold or tolerance as people write it: 80, 80.5, 0.75."""
    return f"{value + 0.0:,.6f}".rstrip("0").rstrip(".")


def _end_of(day: date) -> str:
    return f"end of {day} ({PROVINCE_TZ.key})"


def _instant(instant: datetime) -> str:
    return instant.astimezone(PROVINCE_TZ).isoformat(timespec="seconds")
