"""What the province aims for: cities, programs, tolerances, indicators (from the targets file)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property

from shared.domain.calendar import Period
from shared.domain.state import ReportKind


class ProgramKind(StrEnum):
    SITE_ROLLOUT = "site_rollout"
    SITE_DENSITY = "site_density"
    INDICATOR_THRESHOLDS = "indicator_thresholds"


class Rule(StrEnum):
    GREATER = ">"
    GREATER_OR_EQUAL = ">="
    TRACKED = "tracked"


@dataclass(frozen=True)
class City:
    id: str
    code: str
    name: str
    name_en: str
    population: int
    baseline_sites: int
    quotas: dict[str, int] = field(default_factory=dict)
    gigabit_since: int | None = None


@dataclass(frozen=True)
class Tolerances:
    """Attainment below ``warning`` is at risk; below ``critical`` it is behind."""

    warning: float = 0.90
    critical: float = 0.75


@dataclass(frozen=True)
class SiteProgram:
    """A 5G programme measured in in-service sites (a roll-out quota or a density target)."""

    id: str
    kind: ProgramKind
    title: str
    start: date
    deadline: date
    tolerances: Tolerances
    province_target_new: int | None = None
    density_per_10k: float | None = None
    milestones: dict[Period, float] = field(default_factory=dict)
    """Cumulative share of the target due by the end of each listed month."""
    milestones_provisional: bool = False
    """The profile is an estimate (national seasonality) until the province publishes its own."""
    milestones_source: str = ""
    province_in_service_over: int | None = None
    """The province meets the programme only with more than this many sites in service too
    ("+70,000 ... a province total over 270,000")."""
    quotas_verified: bool = True
    """False while the per-city quotas are an illustrative allocation, not the official one."""
    source: str = ""

    @property
    def feeds_on(self) -> ReportKind:
        return ReportKind.SITES

    @property
    def targets_derived(self) -> bool:
        """City targets computed from a province-wide density (the province's decomposition),
        rather than allocated quotas."""
        return self.kind is ProgramKind.SITE_DENSITY

    def target_new(self, city: City) -> int:
        """New in-service sites the city must add between start and deadline."""
        if self.kind is ProgramKind.SITE_ROLLOUT:
            return city.quotas[self.id]
        return self._density_target_new(city.population, city.baseline_sites)

    def province_target(self, cities: Iterable[City]) -> int:
        """New in-service sites the province must add: the quotas' sum for a roll-out, and for a
        density programme the province-wide density (cities' derived targets, each at least 0,
        may sum to a little more)."""
        listed = list(cities)
        if self.kind is ProgramKind.SITE_ROLLOUT:
            return sum(c.quotas[self.id] for c in listed)
        return self._density_target_new(
            sum(c.population for c in listed), sum(c.baseline_sites for c in listed)
        )

    def province_required_new(self, cities: Iterable[City]) -> int:
        """New sites the province needs to meet the programme: the target, or more when it also
        requires a total in service over ``province_in_service_over``."""
        listed = list(cities)
        required = self.province_target(listed)
        if self.province_in_service_over is not None:
            baseline = sum(c.baseline_sites for c in listed)
            required = max(required, self.province_in_service_over + 1 - baseline)
        return required

    def _density_target_new(self, population: int, baseline: int) -> int:
        assert self.density_per_10k is not None
        needed = math.ceil(self.density_per_10k * population / 10_000 - 1e-9)
        return max(0, needed - baseline)


@dataclass(frozen=True)
class Indicator:
    key: str
    meaning: str
    unit: str
    rule: Rule
    threshold: float | None
    verified: bool
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    source: str = ""

    def passes(self, value: float) -> bool | None:
        """Whether ``value`` meets the threshold; None for a tracked-only indicator."""
        if self.rule is Rule.TRACKED or self.threshold is None:
            return None
        if self.rule is Rule.GREATER:
            return value > self.threshold
        return value >= self.threshold


@dataclass(frozen=True)
class GigabitProgram:
    id: str
    title: str
    start: date
    deadline: date
    indicators: tuple[Indicator, ...]
    kind: ProgramKind = ProgramKind.INDICATOR_THRESHOLDS
    source: str = ""
    tolerances: Tolerances = field(default_factory=Tolerances)
    """Before final judgement, the share of thresholded indicators passing is judged with these."""

    @property
    def feeds_on(self) -> ReportKind:
        return ReportKind.GIGABIT

    @property
    def thresholded(self) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.threshold is not None)

    def indicator(self, key: str) -> Indicator | None:
        return self._by_key.get(key)

    @cached_property
    def _by_key(self) -> dict[str, Indicator]:
        # Every indicator of every gigabit report is looked up here: a dict, not a scan.
        return {indicator.key: indicator for indicator in self.indicators}


@dataclass(frozen=True)
class ReportingCalendar:
    start: Period
    due_day: int = 10


@dataclass(frozen=True)
class ReportingWindow:
    """The months for which a report kind is required: while a programme it feeds is open."""

    kind: ReportKind
    first: Period
    last: Period
    closing_months: frozenset[Period]
    """The deadline months of the programmes the kind feeds: a report missing for one of these
    after the deadline is critical."""

    def requires(self, period: Period) -> bool:
        return self.first <= period <= self.last


@dataclass(frozen=True)
class Targets:
    cities: dict[str, City]
    site_baseline_date: date
    site_programs: tuple[SiteProgram, ...]
    gigabit_programs: tuple[GigabitProgram, ...]
    reporting: ReportingCalendar
    retired_cities: dict[str, str] = field(default_factory=dict)
    """Retired city id -> why (e.g. laiwu, merged into Jinan)."""
    baselines_verified: bool = True
    """False while the cities' baseline sites are an illustrative allocation."""
    max_sites_per_city: int = 100_000
    """The most site ids one city may hold registered (``limits.max_sites_per_city``)."""
    _windows: dict[ReportKind, ReportingWindow | None] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        # Every judgement asks for its kind's window: work it out once per Targets.
        for kind in ReportKind:
            self._windows[kind] = self._reporting_window(kind)

    @property
    def programs(self) -> tuple[SiteProgram | GigabitProgram, ...]:
        return self.site_programs + self.gigabit_programs

    def reporting_window(self, kind: ReportKind) -> ReportingWindow | None:
        return self._windows[kind]

    def _reporting_window(self, kind: ReportKind) -> ReportingWindow | None:
        """The months ``kind`` is required for (contract §1): from the first start month to the
        last deadline month of the programmes it feeds; None if it feeds none.

        The shipped programmes of a kind overlap, so one span is exact; a file whose programmes
        of one kind leave a gap between them would require the gap months too.
        """
        fed = [p for p in self.programs if p.feeds_on is kind]
        if not fed:
            return None
        return ReportingWindow(
            kind=kind,
            first=max(self.reporting.start, min(Period.of(p.start) for p in fed)),
            last=max(Period.of(p.deadline) for p in fed),
            closing_months=frozenset(Period.of(p.deadline) for p in fed),
        )

    @property
    def program_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.site_programs) + tuple(p.id for p in self.gigabit_programs)

    @property
    def gigabit(self) -> GigabitProgram:
        """The gigabit programme whose indicators reports are validated against."""
        return self.gigabit_programs[0]

    @property
    def population(self) -> int:
        return sum(c.population for c in self.cities.values())

    @property
    def baseline_sites(self) -> int:
        return sum(c.baseline_sites for c in self.cities.values())
