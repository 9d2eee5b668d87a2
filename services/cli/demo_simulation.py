"""What the 16 cities report each month in ``pacer demo``: pure and seeded, no I/O.

Each city builds 5G sites at its own pace (its quota spread evenly over 2024-2025, times a pace
factor and monthly noise) and reports each month's new sites and gigabit indicators early the
next month. Four cities play a part, chosen by the seed:

- ``lagging`` slows down after a good first quarter and stays behind plan;
- ``recovering`` slows down in 2024 and catches up from October (its FiveGBehindPlan resolves);
- ``skipping`` misses the due day of one month and submits it about two weeks late
  (ReportOverdue fires, then resolves);
- ``gigabit_failing`` keeps household gigabit coverage under 80 % (GigabitIndicatorBelowThreshold).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from shared.domain.calendar import PROVINCE_TZ, Period
from shared.domain.targets import City, Targets

FIRST_PERIOD = Period(2024, 1)
LAST_PERIOD = Period(2025, 12)
FAILING_INDICATOR = "household_gigabit_coverage_pct"

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
    ("china_mobile", ("n41", "n28"), 0.5),
    ("china_telecom", ("n78",), 0.2),
    ("china_unicom", ("n78",), 0.2),
    ("china_broadnet", ("n28", "n79"), 0.1),
)


@dataclass(frozen=True)
class Roles:
    lagging: str
    recovering: str
    skipping: str
    skipped_period: Period
    gigabit_failing: str


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


def periods(first: Period = FIRST_PERIOD, last: Period = LAST_PERIOD) -> list[Period]:
    found = [first]
    while found[-1] < last:
        found.append(found[-1].next())
    return found


def _pace(role: str, month: int, base: float) -> float:
    """How fast the city builds in month ``month`` (0 = 2024-01), as a multiple of its plan."""
    if role == "lagging":
        return 1.1 if month < 3 else 0.55
    if role == "recovering":
        return 1.15 if month < 3 else (0.65 if month < 9 else 1.6)
    return base


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
    quota: int
    total_days: int
    """Days from the roll-out's start to its deadline (731 for 2024-2025)."""
    rng: random.Random
    base_pace: float
    indicators: dict[str, float]
    sites: list[dict[str, Any]]

    def month_sites(self, period: Period, month: int) -> list[dict[str, Any]]:
        pace = _pace(self.role, month, self.base_pace)
        noise = min(1.3, max(0.75, self.rng.gauss(1.0, 0.1)))
        days = period.last_day.day
        count = round(self.quota * days / self.total_days * pace * noise)
        lat0, lon0 = CITY_CENTRES.get(self.city.id, SHANDONG_CENTRE)
        new: list[dict[str, Any]] = []
        for _ in range(count):
            name, bands, _weight = self.rng.choices(OPERATORS, [o[2] for o in OPERATORS])[0]
            new.append(
                {
                    "site_id": f"{self.city.id}-{len(self.sites) + len(new) + 1:05d}",
                    "operator": name,
                    "status": "in_service",
                    "commissioned_on": date(
                        period.year, period.month, self.rng.randint(1, days)
                    ).isoformat(),
                    "lat": round(lat0 + self.rng.uniform(-0.22, 0.22), 5),
                    "lon": round(lon0 + self.rng.uniform(-0.25, 0.25), 5),
                    "band": self.rng.choice(bands),
                }
            )
        self.sites += new
        # Copies: the records in self.sites change later (decommissioned), the report does not.
        return [dict(site) for site in new] + self._decommissioned(month)

    def _decommissioned(self, month: int) -> list[dict[str, Any]]:
        """Now and then a few sites of earlier months go out of service (at most 4)."""
        if month < 3 or self.rng.random() > 0.2:
            return []
        older = [s for s in self.sites[: len(self.sites) * 3 // 4] if s["status"] == "in_service"]
        chosen = self.rng.sample(older, min(len(older), self.rng.randint(1, 4)))
        for site in chosen:
            site["status"] = "decommissioned"
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
        in_service = self.city.baseline_sites + sum(s["status"] == "in_service" for s in self.sites)
        reported = {k: round(v, 1) for k, v in self.indicators.items()}
        reported["bb_1000m_users"] = round(self.indicators["bb_1000m_users"])
        reported["bs_5g_per_10k"] = round(in_service / self.city.population * 10_000, 2)
        return reported


def _start_city(city: City, role: str, quota: int, total_days: int, rng: random.Random) -> _CitySim:
    indicators = {key: rng.uniform(low, high) for key, (low, high) in _START.items()}
    if role == "gigabit_failing":
        indicators[FAILING_INDICATOR] = rng.uniform(71, 74)
    indicators["bb_1000m_users"] = city.population * rng.uniform(0.02, 0.04)
    base_pace = rng.uniform(1.25, 1.35) if role == "skipping" else rng.uniform(1.12, 1.35)
    return _CitySim(city, role, quota, total_days, rng, base_pace, indicators, [])


def _city_submissions(sim: _CitySim, seed: int, skipped: Period | None) -> list[Submission]:
    found: list[Submission] = []
    for month, period in enumerate(periods()):
        sites = sim.month_sites(period, month)
        indicators = sim.month_indicators(month)
        following = period.next()
        late = period == skipped
        day = sim.rng.randint(24, 27) if late else sim.rng.randint(3, 9)
        at = _instant(date(following.year, following.month, day), sim.rng)
        head = {"period": str(period), "as_of": period.last_day.isoformat()}
        prefix = f"demo{seed}-{sim.city.id}"
        found.append(
            Submission(
                sim.city.id,
                "5g-sites",
                period,
                at,
                {"report_id": f"{prefix}-5g-{period}", **head, "sites": sites},
                late,
            )
        )
        found.append(
            Submission(
                sim.city.id,
                "gigabit",
                period,
                at + timedelta(minutes=sim.rng.randint(5, 90)),
                {"report_id": f"{prefix}-gig-{period}", **head, "indicators": indicators},
                late,
            )
        )
    return found


def simulate(targets: Targets, seed: int) -> Scenario:
    """The demo's 24 months of reports from every city of ``targets``, the same for one seed."""
    rng = random.Random(seed)
    city_ids = list(targets.cities)
    if len(city_ids) < 4:
        raise ValueError("the demo needs at least 4 cities in the targets file")
    unknown = [c.id for c in targets.cities.values() if c.gigabit_since is None] or city_ids
    failing = rng.choice(unknown)
    lagging, recovering, skipping = rng.sample([c for c in city_ids if c != failing], 3)
    roles = Roles(lagging, recovering, skipping, rng.choice(periods()[4:18]), failing)
    role_of = {lagging: "lagging", recovering: "recovering", skipping: "skipping"}
    role_of[failing] = "gigabit_failing"
    rollout = next(p for p in targets.site_programs if p.province_target_new is not None)
    total_days = (rollout.deadline - rollout.start).days + 1
    submissions: list[Submission] = []
    for city in targets.cities.values():
        role = role_of.get(city.id, "")
        city_rng = random.Random(f"{seed}:{city.id}")
        sim = _start_city(city, role, rollout.target_new(city), total_days, city_rng)
        skipped = roles.skipped_period if role == "skipping" else None
        submissions += _city_submissions(sim, seed, skipped)
    submissions.sort(key=lambda s: (s.at, s.city, s.kind))
    return Scenario(seed, roles, tuple(submissions))
