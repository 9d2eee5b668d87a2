"""The words of an alert: its ``summary`` and ``description`` annotations, with the numbers.

Every number is formatted the same way every time, so one state always gives the same text.
Attainment is truncated rather than rounded: 0.8999 reads 0.899, never as the 0.90 it misses.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal

from shared.domain.calendar import PROVINCE_TZ, Period
from shared.domain.plan import TRAILING_RATE_DAYS
from shared.domain.progress import GigabitProgress, IndicatorStanding, ReportStanding, SiteProgress
from shared.domain.targets import Indicator, ProgramKind, SiteProgram

PROVINCE = "The province"
"""The subject of province-wide alerts."""


def behind_plan(subject: str, program: SiteProgram, progress: SiteProgress) -> dict[str, str]:
    return {
        "summary": f"{subject} is behind plan on {program.id} "
        f"(attainment {_ratio(progress.attainment)})",
        "description": _site_facts(program, progress),
    }


def projected_miss(subject: str, program: SiteProgram, progress: SiteProgress) -> dict[str, str]:
    if progress.projected_completion is None:
        when = f"never done at the current rate (deadline {program.deadline})"
    else:
        when = f"done {progress.projected_completion}, after the deadline {program.deadline}"
    return {
        "summary": f"{subject} is projected to miss {program.id}: {when}",
        "description": _site_facts(program, progress),
    }


def target_missed(subject: str, program: SiteProgram, progress: SiteProgress) -> dict[str, str]:
    return {
        "summary": f"{subject} missed {program.id}: {_count(_to_go(progress))} sites short "
        f"of the target at the deadline {program.deadline}",
        "description": _site_facts(program, progress),
    }


def indicator_below_threshold(
    subject: str, program_id: str, deadline: date, standing: IndicatorStanding
) -> dict[str, str]:
    indicator, reading = standing.indicator, standing.reading
    assert reading is not None  # a missing value is not below its threshold
    value = _value(indicator, reading.value)
    return {
        "summary": f"{subject}: {indicator.key} is {value} on {program_id}, "
        f"needs {_requirement(indicator)}",
        "description": f"{indicator.meaning} ({indicator.key}): latest value {value} "
        f"as of {reading.as_of} (report {reading.report_id}); rule {_requirement(indicator)}, "
        f"{_verification(indicator)}. The deadline is the {_end_of(deadline)}.",
    }


def standard_not_met(subject: str, progress: GigabitProgress) -> dict[str, str]:
    failing = [s for s in progress.thresholded if not s.passing]
    details = "; ".join(_failure(s) for s in failing)
    return {
        "summary": f"{subject} did not meet {progress.program} by {progress.deadline}: "
        f"{len(failing)} of {len(progress.thresholded)} indicators fail",
        "description": f"{progress.passing_count} of {len(progress.thresholded)} indicators with "
        f"a threshold pass on their latest value. Failing: {details}. "
        f"The deadline was the {_end_of(progress.deadline)}.",
    }


def report_overdue(subject: str, standing: ReportStanding, due_day: int) -> dict[str, str]:
    period = standing.latest_due
    assert period is not None  # nothing is overdue before the first report is due
    due = _due_date(period, due_day)
    if standing.last_received is None:
        last = f"no {standing.kind} report received yet"
    else:
        last = f"last {standing.kind} report received {_instant(standing.last_received)}"
    return {
        "summary": f"{subject}'s {standing.kind} report for {period} is overdue (due {due})",
        "description": f"No {standing.kind} report for {period}, "
        f"due by the {_end_of(due)}; {last}.",
    }


# --- the facts of a site programme --------------------------------------------------------------


def _site_facts(program: SiteProgram, progress: SiteProgress) -> str:
    """actual, expected, shortfall, attainment, target, deadline and projected completion."""
    if progress.kind is ProgramKind.SITE_DENSITY:
        actual = (
            f"actual {_count(progress.in_service)} sites in service "
            f"({_density(progress.density_per_10k)} per 10k), "
            f"{_count(progress.new_sites)} new since {program.start}"
        )
        expected = (
            f"expected {_count(progress.baseline_sites + progress.planned_new)} by now "
            f"({_density(progress.planned_density_per_10k)} per 10k)"
        )
        target = (
            f"target {_count(progress.baseline_sites + progress.target_new)} sites "
            f"({_density(progress.target_density_per_10k)} per 10k)"
        )
    else:
        actual = f"actual {_count(progress.new_sites)} new sites since {program.start}"
        expected = f"expected {_count(progress.planned_new)} by now"
        target = f"target {_count(progress.target_new)} new sites"
    tolerances = program.tolerances
    completion = progress.projected_completion or "never at the current rate"
    facts = [
        actual,
        expected,
        f"shortfall {_count(max(0.0, progress.planned_new - progress.new_sites))}",
        f"attainment {_ratio(progress.attainment)} (warning below {_plain(tolerances.warning)}, "
        f"critical below {_plain(tolerances.critical)})",
        f"{target} by the {_end_of(program.deadline)}, {_count(_to_go(progress))} to go",
        f"projected completion {completion} (trailing {TRAILING_RATE_DAYS}-day rate "
        f"{progress.daily_rate:.2f} sites/day)",
    ]
    return "; ".join(facts) + "."


def _to_go(progress: SiteProgress) -> int:
    return max(0, progress.target_new - progress.new_sites)


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


def _ratio(value: float) -> str:
    """Attainment to three decimals, truncated."""
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
