"""What the 16 cities report each month in ``pacer demo``: pure and seeded, no I/O.

Every city reports each month's new 5G sites (2024-01 to 2025-12) and, while gigabit-2024 is open
(through 2024-12), its gigabit indicators, early the next month (the 1st to the 3rd, well before
the due day). How many sites each builds follows ``services.cli.demo_pace``: the cities without a
part stay ahead of both site plans at every month's end, pass every gigabit threshold and so
raise no alert. Four cities play a part, chosen by the seed:

- ``lagging`` slows down after a good first quarter: FiveGBehindPlan (warning, then critical) and
  FiveGProjectedMiss, then FiveGTargetMissed when its December 2025 report brings the final
  judgement;
- ``recovering`` falls behind in 2024 and catches up from October: its FiveGBehindPlan resolves;
- ``skipping`` misses the due day of one month (2024-07..2024-11) and submits both reports about
  two weeks late: ReportOverdue fires, then resolves;
- ``gigabit_failing`` keeps household gigabit coverage under 80 %: GigabitIndicatorBelowThreshold
  (warning; critical as well from the final judgement) and GigabitStandardNotMet.

Each city opens on 2024-01-01 with an empty 5g-sites report for 2023-12 ("no new site before
the programmes start"). Without it, the province would be judged on January 31 from the first
city's January report on, the cities that had not reported yet counting zero (contract §1.1),
and FiveGProvinceBehindPlan would fire for a few days in February 2024 though no city is behind.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from services.cli.demo_pace import site_path
from shared.domain.calendar import PROVINCE_TZ, Period, due_instant
from shared.domain.state import ReportKind
from shared.domain.targets import City, SiteProgram, Targets

FAILING_INDICATOR = "household_gigabit_coverage_pct"
SKIPPABLE = (Period(2024, 7), Period(2024, 11))
"""The months the skipping city may miss (first, last): both kinds are required then, and its
margin covers the plan's step in each (``demo_pace.SKIPPING_MARGIN``)."""
OPENING_DAY = date(2024, 1, 1)
REPORT_DAYS = (1, 3)
"""A city reports a month on one of these days of the next month, a week or more before the
due day: at the demo's speed (a month in 2.5 s) the driver has 0.6 s to catch up if the 32
reports of a month take it longer than the 0.25 s they are spread over."""
BATCH_DAYS = 4
"""A city's operators bring the month's new sites into service on this many days of it (after
acceptance tests, in batches): a city's history holds about 100 days, not 730, which keeps each
alert evaluation of the demo's Pacer (and of the simulation's test) cheap."""

CITY_CENTRES: dict[str, tuple[float, float]] = {
    "jinan": (36.65, 117.12), "qingdao": (36.07, 120.38), "zibo": (36.81, 118.05),
    "zaozhuang": (34.81, 117.32), "dongying": (37.43, 118.67), "yantai": (37.46, 121.45),
    "weifang": (36.71, 119.16), "jining": (35.41, 116.59), "taian": (36.20, 117.09),
    "weihai": (37.51, 122.12), "rizhao": (35.42, 119.53), "linyi": (35.10, 118.36),
    "dezhou": (37.44, 116.36), "liaocheng": (36.46, 115.99), "binzhou": (37.38, 117.97),
    "heze": (35.23, 115.48),
}  # fmt: skip
"""(lat, lon) of each city seat; sites scatter within about 25 km of it."""
SHANDONG_CENTRE = (36.4, 118.5)
OPERATORS = (
    ("china_mobile", ("n41", "n28")),
    ("china_telecom", ("n78",)),
    ("china_unicom", ("n78",)),
    ("china_broadnet", ("n28", "n79")),
)
"""Each operator and its 5G bands."""
_OPERATOR_SHARES = (0.5, 0.2, 0.2, 0.1)


@dataclass(frozen=True)
class Roles:
    lagging: str
    recovering: str
    skipping: str
    skipped_period: Period
    gigabit_failing: str

    def of(self, city: str) -> str:
        """The part ``city`` plays ("" for none)."""
        cast = {
            self.lagging: "lagging",
            self.recovering: "recovering",
            self.skipping: "skipping",
            self.gigabit_failing: "gigabit_failing",
        }
        return cast.get(city, "")


@dataclass(frozen=True)
class Submission:
    """One report a city submits, and the simulated instant it does so."""

    city: str
    kind: str  # "5g-sites" | "gigabit", as in the URL
    period: Period
    at: datetime
    body: dict[str, Any]
    late: bool = False
    """Submitted after its due day (the skipping city's missed month)."""

    @property
    def report_id(self) -> str:
        return str(self.body["report_id"])


@dataclass(frozen=True)
class Scenario:
    seed: int
    roles: Roles
    submissions: tuple[Submission, ...]
    """In the order of their ``at``."""

    @property
    def last_period(self) -> Period | None:
        return max((s.period for s in self.submissions), default=None)

    def story_ends(self, due_day: int) -> datetime | None:
        """When the story is over: the next month's report falls due after this instant, and
        from then on every city would be overdue. None without submissions."""
        last = self.last_period
        return None if last is None else due_instant(last.next(), due_day)

    def until(self, last: Period) -> Scenario:
        """The same scenario with only the reports for periods up to ``last``."""
        kept = tuple(s for s in self.submissions if s.period <= last)
        return Scenario(self.seed, self.roles, kept)

    def excluding(self, report_ids: set[str]) -> Scenario:
        """The same scenario without the reports of those ids (say, never sent)."""
        kept = tuple(s for s in self.submissions if s.report_id not in report_ids)
        return Scenario(self.seed, self.roles, kept)

    def new_in_service(self) -> dict[str, int]:
        """Per city, the new sites in service once every submission is applied."""
        latest: dict[str, tuple[str, str]] = {}
        for submission in sorted(self.submissions, key=lambda s: s.body["as_of"]):
            for site in submission.body.get("sites", []):
                latest[site["site_id"]] = (submission.city, site["status"])
        totals = dict.fromkeys(sorted({s.city for s in self.submissions}), 0)
        for city, status in latest.values():
            totals[city] += status == "in_service"
        return totals


def periods(first: Period, last: Period) -> list[Period]:
    found = [first]
    while found[-1] < last:
        found.append(found[-1].next())
    return found


def _instant(day: date, rng: random.Random) -> datetime:
    clock = time(rng.randint(9, 17), rng.randint(0, 59), tzinfo=PROVINCE_TZ)
    return datetime.combine(day, clock)


_START: dict[str, tuple[float, float]] = {
    "household_gigabit_coverage_pct": (92, 118),
    "pon_10g_port_share_pct": (30, 45),
    "key_location_5g_reach_pct": (88, 95),
    "bb_500m_user_share_pct": (31, 40),
    "user_5g_share_pct": (45, 60),
}
"""Range of each indicator in January 2024 (all comfortably passing)."""
_DRIFT: dict[str, tuple[float, float, float]] = {
    "household_gigabit_coverage_pct": (0.2, 0.9, 160),
    "pon_10g_port_share_pct": (0.4, 1.5, 95),
    "key_location_5g_reach_pct": (0.0, 0.3, 99.5),
    "bb_500m_user_share_pct": (0.4, 1.2, 90),
    "user_5g_share_pct": (0.4, 1.0, 95),
}
"""Monthly change of each indicator: (least, most, ceiling)."""


@dataclass
class _CitySim:
    city: City
    role: str
    rng: random.Random
    path: dict[Period, int]
    """New in-service sites wanted at each month's end (``demo_pace.site_path``)."""
    indicators: dict[str, float]
    sites: list[dict[str, Any]]

    in_service: int = 0
    """New sites in service now (commissioned since the start, not decommissioned)."""

    def month_sites(self, period: Period, month: int) -> list[dict[str, Any]]:
        """The month's report: sites gone out of service, then what the path needs on top."""
        gone = self._decommissioned(month)
        count = self.path[period] - self.in_service
        batches = self.rng.sample(range(1, period.last_day.day + 1), BATCH_DAYS)
        days = [date(period.year, period.month, day).isoformat() for day in batches]
        lat0, lon0 = CITY_CENTRES.get(self.city.id, SHANDONG_CENTRE)
        draw = self.rng.random
        new: list[dict[str, Any]] = []
        for number, (name, bands), day in zip(
            itertools.count(len(self.sites) + 1),
            self.rng.choices(OPERATORS, _OPERATOR_SHARES, k=count),
            self.rng.choices(days, k=count),
            strict=False,
        ):
            new.append(
                {
                    "site_id": f"{self.city.id}-{number:05d}",
                    "operator": name,
                    "status": "in_service",
                    "commissioned_on": day,
                    # within about 25 km of the city seat (0.22 degrees of latitude)
                    "lat": round(lat0 + 0.44 * draw() - 0.22, 5),
                    "lon": round(lon0 + 0.5 * draw() - 0.25, 5),
                    "band": bands[int(draw() * len(bands))],
                }
            )
        self.sites += new
        self.in_service += count
        # Copies: the records in self.sites change later (decommissioned), the report does not.
        return [dict(site) for site in new] + gone

    def _decommissioned(self, month: int) -> list[dict[str, Any]]:
        """Now and then a few sites of earlier months go out of service (at most 4)."""
        if month < 3 or self.rng.random() > 0.2:
            return []
        older = len(self.sites) * 3 // 4
        picked = (self.sites[i] for i in self.rng.sample(range(older), self.rng.randint(1, 4)))
        chosen = [site for site in picked if site["status"] == "in_service"]
        for site in chosen:
            site["status"] = "decommissioned"
        self.in_service -= len(chosen)
        return [dict(site) for site in chosen]

    def month_indicators(self, month: int) -> dict[str, float]:
        """The gigabit indicators at the end of month ``month``; they drift upwards."""
        if month > 0:
            for key, (low, high, cap) in _DRIFT.items():
                if key == FAILING_INDICATOR and self.role == "gigabit_failing":
                    low, high = 0.05, 0.25  # stuck: never reaches the threshold of 80
                step = self.rng.uniform(low, high)
                self.indicators[key] = min(cap, self.indicators[key] + step)
            self.indicators["bb_1000m_users"] *= self.rng.uniform(1.01, 1.04)
        in_service = self.city.baseline_sites + self.in_service
        reported = {k: round(v, 1) for k, v in self.indicators.items()}
        reported["bb_1000m_users"] = round(self.indicators["bb_1000m_users"])
        reported["bs_5g_per_10k"] = round(in_service / self.city.population * 10_000, 2)
        return reported


def _start_city(
    targets: Targets, city: City, role: str, rollout: SiteProgram, months: list[Period], seed: int
) -> _CitySim:
    rng = random.Random(f"{seed}:{city.id}")
    indicators = {key: rng.uniform(low, high) for key, (low, high) in _START.items()}
    if role == "gigabit_failing":
        indicators[FAILING_INDICATOR] = rng.uniform(71, 74)
    indicators["bb_1000m_users"] = city.population * rng.uniform(0.02, 0.04)
    path = site_path(targets, city, role, months, rollout.target_new(city), rng)
    return _CitySim(city, role, rng, path, indicators, [])


def _opening(sim: _CitySim, seed: int) -> Submission:
    """The empty report for the month before the programmes (see the module docstring)."""
    before = Period.of(OPENING_DAY).previous()
    body = {
        "report_id": f"demo{seed}-{sim.city.id}-5g-{before}",
        "period": str(before),
        "as_of": before.last_day.isoformat(),
        "sites": [],
    }
    return Submission(sim.city.id, "5g-sites", before, _instant(OPENING_DAY, sim.rng), body)


def _city_submissions(
    sim: _CitySim, targets: Targets, months: list[Period], seed: int, skipped: Period | None
) -> list[Submission]:
    found = [_opening(sim, seed)]
    gigabit = targets.reporting_window(ReportKind.GIGABIT)
    prefix = f"demo{seed}-{sim.city.id}"
    for month, period in enumerate(months):
        sites = sim.month_sites(period, month)
        late = period == skipped
        following = period.next()
        day = sim.rng.randint(24, 27) if late else sim.rng.randint(*REPORT_DAYS)
        at = _instant(date(following.year, following.month, day), sim.rng)
        head: dict[str, Any] = {"period": str(period), "as_of": period.last_day.isoformat()}
        sites_body = {"report_id": f"{prefix}-5g-{period}", **head, "sites": sites}
        found.append(Submission(sim.city.id, "5g-sites", period, at, sites_body, late))
        if gigabit is None or not gigabit.requires(period):
            continue  # no programme open for it: gigabit reports are no longer asked for
        indicators = sim.month_indicators(month)
        gigabit_body = {"report_id": f"{prefix}-gig-{period}", **head, "indicators": indicators}
        at += timedelta(minutes=sim.rng.randint(5, 90))
        found.append(Submission(sim.city.id, "gigabit", period, at, gigabit_body, late))
    return found


def rollout_program(targets: Targets) -> SiteProgram:
    """The roll-out with a province target (5g-2025): the demo plays it from start to deadline."""
    return next(p for p in targets.site_programs if p.province_target_new is not None)


def simulate(targets: Targets, seed: int) -> Scenario:
    """The demo's months of reports from every city of ``targets``, the same for one seed."""
    rng = random.Random(seed)
    city_ids = list(targets.cities)
    if len(city_ids) < 4:
        raise ValueError("the demo needs at least 4 cities in the targets file")
    unknown = [c.id for c in targets.cities.values() if c.gigabit_since is None] or city_ids
    failing = rng.choice(unknown)
    lagging, recovering, skipping = rng.sample([c for c in city_ids if c != failing], 3)
    roles = Roles(lagging, recovering, skipping, rng.choice(periods(*SKIPPABLE)), failing)
    rollout = rollout_program(targets)
    months = periods(Period.of(rollout.start), Period.of(rollout.deadline))
    submissions: list[Submission] = []
    for city in targets.cities.values():
        role = roles.of(city.id)
        sim = _start_city(targets, city, role, rollout, months, seed)
        skipped = roles.skipped_period if role == "skipping" else None
        submissions += _city_submissions(sim, targets, months, seed, skipped)
    submissions.sort(key=lambda s: (s.at, s.city, s.kind))
    return Scenario(seed, roles, tuple(submissions))
