"""Reads and validates a targets file into the domain's ``Targets``.

A bad file stops a service at start-up with a message that names the problem, never later.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.domain.calendar import Period
from shared.domain.targets import (
    City,
    GigabitProgram,
    Indicator,
    ProgramKind,
    ReportingCalendar,
    Rule,
    SiteProgram,
    Targets,
    Tolerances,
)

DEFAULT_TARGETS_FILE = Path(__file__).with_name("default.yaml")

# The province's prefecture-level cities (GB/T 2260). A targets file may cover a subset (tests,
# pilots) but never a city outside this list: a typo must not become a 17th city.
KNOWN_CITY_CODES: dict[str, str] = {
    "jinan": "370100",
    "qingdao": "370200",
    "zibo": "370300",
    "zaozhuang": "370400",
    "dongying": "370500",
    "yantai": "370600",
    "weifang": "370700",
    "jining": "370800",
    "taian": "370900",
    "weihai": "371000",
    "rizhao": "371100",
    "linyi": "371300",
    "dezhou": "371400",
    "liaocheng": "371500",
    "binzhou": "371600",
    "heze": "371700",
}
RETIRED_CITY_CODES: dict[str, str] = {"laiwu": "371200"}

# Outside Shandong (``jurisdiction: national``) there is no list to check ids against, so the id
# must at least look like one: a pinyin slug, as the contract's ids are, and a GB/T 2260 code.
CITY_ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
CITY_CODE_PATTERN = re.compile(r"^[0-9]{6}$")


class TargetsError(ValueError):
    """The targets file is unusable; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _City(_Strict):
    id: str
    code: str
    name: str
    name_en: str
    population: int = Field(gt=0)
    baseline_sites: int = Field(ge=0)
    quotas: dict[str, int] = {}
    gigabit_since: int | None = None


class _Tolerances(_Strict):
    warning: float = Field(0.90, gt=0, le=1)
    critical: float = Field(0.75, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> _Tolerances:
        if self.critical > self.warning:
            raise ValueError("critical tolerance must not exceed the warning tolerance")
        return self


class _Indicator(_Strict):
    key: str
    meaning: str
    unit: str
    rule: Rule
    threshold: float | None
    verified: bool
    min: float | None = None
    max: float | None = None
    integer: bool = False
    source: str = ""

    @model_validator(mode="after")
    def _threshold_matches_rule(self) -> _Indicator:
        if (self.rule is Rule.TRACKED) != (self.threshold is None):
            raise ValueError("a tracked indicator has no threshold; any other rule needs one")
        return self


class _Program(_Strict):
    id: str
    kind: ProgramKind
    title: str
    start: date
    deadline: date
    source: str = ""
    tolerances: _Tolerances = _Tolerances()
    province_target_new: int | None = Field(None, gt=0)
    province_in_service_over: int | None = Field(None, gt=0)
    quotas_verified: bool = True
    density_per_10k: float | None = Field(None, gt=0)
    milestones: dict[str, float] = {}
    milestones_provisional: bool = False
    milestones_source: str = ""
    indicators: list[_Indicator] = []

    @model_validator(mode="after")
    def _consistent(self) -> _Program:
        if self.deadline <= self.start:
            raise ValueError(f"deadline {self.deadline} is not after start {self.start}")
        if self.kind is ProgramKind.SITE_ROLLOUT and self.province_target_new is None:
            raise ValueError("a site_rollout programme needs province_target_new")
        if self.kind is ProgramKind.SITE_DENSITY and self.density_per_10k is None:
            raise ValueError("a site_density programme needs density_per_10k")
        if self.kind is ProgramKind.INDICATOR_THRESHOLDS and not self.indicators:
            raise ValueError("an indicator_thresholds programme needs indicators")
        previous = 0.0
        for month in sorted(self.milestones):
            period = Period.parse(month)
            share = self.milestones[month]
            if not self.start <= period.last_day <= self.deadline:
                raise ValueError(f"milestone {month} lies outside the programme")
            if not previous <= share <= 1:
                raise ValueError(f"milestone {month}: shares must grow from 0 to 1")
            previous = share
        return self


class _Reporting(_Strict):
    start: str
    due_day: int = Field(10, ge=1, le=28)


class _SiteBaseline(_Strict):
    date: date
    province_sites: int | None = None
    verified: bool = True
    """False while the cities' baselines are an illustrative allocation (the shipped file)."""


class _Retired(_Strict):
    id: str
    code: str
    note: str = ""


class _Limits(_Strict):
    max_sites_per_city: int = Field(100_000, ge=1)


class _TargetsFile(_Strict):
    jurisdiction: Literal["shandong", "national"] = "shandong"
    """Whose cities the file lists. ``shandong`` (the default) accepts only the province's 16
    cities with their codes; ``national`` accepts any city whose id is a slug and whose code has 6
    digits, each unique, so the same code can serve a whole country."""
    timezone: Literal["Asia/Shanghai"] = "Asia/Shanghai"
    reporting: _Reporting
    site_baseline: _SiteBaseline
    cities: list[_City] = Field(min_length=1)
    programs: list[_Program] = Field(min_length=1)
    retired_cities: list[_Retired] = []
    limits: _Limits = _Limits()


def _check_cities(doc: _TargetsFile) -> None:
    seen: set[str] = set()
    codes: dict[str, str] = {}
    retired = {r.id: r.code for r in doc.retired_cities}
    for index, city in enumerate(doc.cities):
        where = f"cities[{index}] ({city.id})"
        if city.id in RETIRED_CITY_CODES or city.code in RETIRED_CITY_CODES.values():
            raise TargetsError(
                f"{where}: {city.id}/{city.code} is not a city of the province "
                "(Laiwu was merged into Jinan in 2019)"
            )
        if doc.jurisdiction == "shandong":
            if city.id not in KNOWN_CITY_CODES:
                raise TargetsError(f"{where}: unknown city id {city.id!r}")
            if KNOWN_CITY_CODES[city.id] != city.code:
                raise TargetsError(
                    f"{where}: code {city.code} does not match {city.id} "
                    f"({KNOWN_CITY_CODES[city.id]})"
                )
        else:
            _check_national_city(city, where, retired, codes)
        if city.id in seen:
            raise TargetsError(f"{where}: city listed twice")
        seen.add(city.id)


def _check_national_city(
    city: _City, where: str, retired: dict[str, str], codes: dict[str, str]
) -> None:
    """Without a list of known cities, a typo can still not pass as a city: the id and code must
    be well-formed and unique, and neither may be one the file itself lists as retired."""
    if not CITY_ID_PATTERN.fullmatch(city.id):
        raise TargetsError(f"{where}: city id {city.id!r} is not a lowercase slug (a-z, 0-9, -)")
    if not CITY_CODE_PATTERN.fullmatch(city.code):
        raise TargetsError(f"{where}: code {city.code!r} is not a 6-digit administrative code")
    if city.id in retired or city.code in retired.values():
        raise TargetsError(f"{where}: {city.id}/{city.code} is listed under retired_cities")
    if city.code in codes and codes[city.code] != city.id:
        raise TargetsError(f"{where}: code {city.code} is already used by {codes[city.code]}")
    codes[city.code] = city.id


def _check_programs(doc: _TargetsFile) -> None:
    ids = [p.id for p in doc.programs]
    if len(set(ids)) != len(ids):
        raise TargetsError(f"programs: duplicate programme id in {ids}")
    gigabit = [p for p in doc.programs if p.kind is ProgramKind.INDICATOR_THRESHOLDS]
    if len(gigabit) != 1:
        raise TargetsError("programs: exactly one indicator_thresholds programme is required")
    for program in doc.programs:
        if program.kind is not ProgramKind.SITE_ROLLOUT:
            continue
        missing = [c.id for c in doc.cities if program.id not in c.quotas]
        if missing:
            raise TargetsError(f"programs {program.id}: no quota for {', '.join(missing)}")
        total = sum(c.quotas[program.id] for c in doc.cities)
        if total != program.province_target_new:
            raise TargetsError(
                f"programs {program.id}: city quotas sum to {total}, "
                f"not the province target {program.province_target_new}"
            )
        if program.start < doc.site_baseline.date:
            raise TargetsError(f"programs {program.id}: starts before the site baseline date")
    for city in doc.cities:
        unknown = set(city.quotas) - set(ids)
        if unknown:
            raise TargetsError(f"cities {city.id}: quota for unknown programme {sorted(unknown)}")
    baseline = doc.site_baseline.province_sites
    if baseline is not None and baseline != sum(c.baseline_sites for c in doc.cities):
        raise TargetsError(
            f"site_baseline: city baselines sum to {sum(c.baseline_sites for c in doc.cities)}, "
            f"not province_sites {baseline}"
        )


def _to_domain(doc: _TargetsFile) -> Targets:
    cities = {
        c.id: City(
            id=c.id,
            code=c.code,
            name=c.name,
            name_en=c.name_en,
            population=c.population,
            baseline_sites=c.baseline_sites,
            quotas=dict(c.quotas),
            gigabit_since=c.gigabit_since,
        )
        for c in doc.cities
    }
    site_programs = tuple(
        SiteProgram(
            id=p.id,
            kind=p.kind,
            title=p.title,
            start=p.start,
            deadline=p.deadline,
            tolerances=Tolerances(p.tolerances.warning, p.tolerances.critical),
            province_target_new=p.province_target_new,
            density_per_10k=p.density_per_10k,
            milestones={Period.parse(m): s for m, s in p.milestones.items()},
            milestones_provisional=p.milestones_provisional,
            milestones_source=p.milestones_source,
            province_in_service_over=p.province_in_service_over,
            quotas_verified=p.quotas_verified,
            source=p.source,
        )
        for p in doc.programs
        if p.kind is not ProgramKind.INDICATOR_THRESHOLDS
    )
    gigabit_programs = tuple(
        GigabitProgram(
            id=p.id,
            title=p.title,
            start=p.start,
            deadline=p.deadline,
            source=p.source,
            tolerances=Tolerances(p.tolerances.warning, p.tolerances.critical),
            indicators=tuple(
                Indicator(
                    key=i.key,
                    meaning=i.meaning,
                    unit=i.unit,
                    rule=i.rule,
                    threshold=i.threshold,
                    verified=i.verified,
                    minimum=i.min,
                    maximum=i.max,
                    integer=i.integer,
                    source=i.source,
                )
                for i in p.indicators
            ),
        )
        for p in doc.programs
        if p.kind is ProgramKind.INDICATOR_THRESHOLDS
    )
    return Targets(
        cities=cities,
        site_baseline_date=doc.site_baseline.date,
        site_programs=site_programs,
        gigabit_programs=gigabit_programs,
        reporting=ReportingCalendar(Period.parse(doc.reporting.start), doc.reporting.due_day),
        retired_cities={k: "no longer a city of the province" for k in RETIRED_CITY_CODES}
        | {r.id: r.note for r in doc.retired_cities},
        baselines_verified=doc.site_baseline.verified,
        max_sites_per_city=doc.limits.max_sites_per_city,
    )


def parse_targets(raw: Any, *, source: str = "<targets>") -> Targets:
    try:
        doc = _TargetsFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        raise TargetsError(f"{source}: {where}: {first['msg']}") from exc
    try:
        Period.parse(doc.reporting.start)
        _check_cities(doc)
        _check_programs(doc)
    except (TargetsError, ValueError) as exc:
        raise TargetsError(f"{source}: {exc}") from exc
    return _to_domain(doc)


def load_targets(path: Path | None = None) -> Targets:
    """Load and validate the targets file at ``path`` (the shipped default when None)."""
    path = path or DEFAULT_TARGETS_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TargetsError(f"{path}: cannot read the targets file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise TargetsError(f"{path}: not valid YAML: {exc}") from exc
    return parse_targets(raw, source=str(path))
