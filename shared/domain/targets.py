"""What the province aims for: cities, programs, tolerances, indicators (from the targets file)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from shared.domain.calendar import Period


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
    source: str = ""

    def target_new(self, city: City) -> int:
        """New in-service sites the city must add between start and deadline."""
        if self.kind is ProgramKind.SITE_ROLLOUT:
            return city.quotas[self.id]
        assert self.density_per_10k is not None
        needed = math.ceil(self.density_per_10k * city.population / 10_000 - 1e-9)
        return max(0, needed - city.baseline_sites)


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

    def indicator(self, key: str) -> Indicator | None:
        return next((i for i in self.indicators if i.key == key), None)


@dataclass(frozen=True)
class ReportingCalendar:
    start: Period
    due_day: int = 10


@dataclass(frozen=True)
class Targets:
    cities: dict[str, City]
    site_baseline_date: date
    site_programs: tuple[SiteProgram, ...]
    gigabit_programs: tuple[GigabitProgram, ...]
    reporting: ReportingCalendar
    retired_cities: dict[str, str] = field(default_factory=dict)
    """Retired city id -> why (e.g. laiwu, merged into Jinan)."""
    max_sites_per_city: int = 100_000
    """The most site ids one city may hold registered (``limits.max_sites_per_city``)."""

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
