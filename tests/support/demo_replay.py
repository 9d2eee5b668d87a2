"""What Pacer would hold, and which alerts its rules would raise, at every moment of a demo story.

A scenario of ``services.cli.demo_simulation`` is replayed into ``CityState`` snapshots the way
the aggregator builds them (sites by commissioning day, a later ``decommissioned`` removing a
site; the indicator history in arrival order; each kind's latest ``as_of``, reported months and
receipts), each report applied the moment it is sent, and ``evaluate_alerts`` is asked for the
alerts after every change.

Every moment, not a sample, at the cost of a few hundred cheap evaluations: a city's alerts
depend on its own state and on ``now`` only through its judgement days and report standings
(contract §1.1), so they can change only when one of its reports arrives or when a due day passes
and moves one of those; the replay evaluates that city alone (the targets narrowed to it) at each
such event. The province's alert can change only when its judgement day, the cities with data or
the sites it counts (those on or before its judgement day) change; the replay evaluates every
rule then. ``alerts_at`` evaluates everything at any instant, so a test can check the claim.
"""

from __future__ import annotations

import dataclasses
import functools
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar

from services.cli.demo_simulation import Scenario, Submission
from shared.domain.alerts import evaluate_alerts
from shared.domain.calendar import PROVINCE_TZ, Period, due_instant
from shared.domain.judgement import floor_day, province_judgement_day
from shared.domain.plan import Status
from shared.domain.progress import (
    city_judgement_day,
    province_site_progress,
    report_standing,
)
from shared.domain.state import CityState, IndicatorReading, ReportKind
from shared.domain.targets import City, GigabitProgram, SiteProgram, Targets

P = TypeVar("P", SiteProgram, GigabitProgram)
Labels = tuple[tuple[str, str], ...]
"""An alert's identity: its labels, sorted."""
STORY_STARTS = datetime(2024, 1, 1, tzinfo=PROVINCE_TZ)


@dataclass(frozen=True)
class Episode:
    """One alert (a label set) from the moment the rules raise it until they stop."""

    labels: Labels
    fired: datetime
    resolved: datetime | None
    """None: still raised when the replay ends."""

    def label(self, name: str) -> str:
        return dict(self.labels).get(name, "")

    @property
    def name(self) -> str:
        return self.label("alertname")

    @property
    def city(self) -> str:
        return self.label("city")

    def __str__(self) -> str:
        ended = self.resolved.date() if self.resolved else "-"
        labels = ",".join(f"{k}={v}" for k, v in self.labels if k != "alertname")
        return f"{self.name}{{{labels}}} {self.fired.date()}..{ended}"


@dataclass
class _CityRecord:
    """One city's stored state, built report by report."""

    city: str
    sites: dict[str, tuple[date, bool]] = field(default_factory=dict)
    by_day: dict[date, int] = field(default_factory=dict)
    history: list[tuple[str, IndicatorReading]] = field(default_factory=list)
    current: dict[str, IndicatorReading] = field(default_factory=dict)
    received: dict[ReportKind, datetime] = field(default_factory=dict)
    periods: dict[ReportKind, set[Period]] = field(default_factory=dict)
    latest: dict[ReportKind, date] = field(default_factory=dict)
    first_receipt: dict[ReportKind, dict[Period, datetime]] = field(default_factory=dict)

    def apply(self, sent: Submission) -> list[date]:
        """Apply one report; the commissioning days whose count it changed."""
        kind, as_of = ReportKind(sent.kind), date.fromisoformat(sent.body["as_of"])
        touched = []
        for site in sent.body.get("sites", []):
            before = self.sites.get(site["site_id"])
            if before is not None and before[1]:
                self.by_day[before[0]] -= 1
            day, live = _day(site["commissioned_on"]), site["status"] == "in_service"
            self.sites[site["site_id"]] = (day, live)
            if live:
                self.by_day[day] = self.by_day.get(day, 0) + 1
            touched.append(day)
        for key, value in sent.body.get("indicators", {}).items():
            reading = IndicatorReading(value, as_of, sent.report_id)
            self.history.append((key, reading))
            if key not in self.current or as_of >= self.current[key].as_of:
                self.current[key] = reading
        self.received[kind] = max(self.received.get(kind, sent.at), sent.at)
        self.periods.setdefault(kind, set()).add(sent.period)
        self.latest[kind] = max(self.latest.get(kind, as_of), as_of)
        self.first_receipt.setdefault(kind, {}).setdefault(sent.period, sent.at)
        return touched

    def state(self) -> CityState:
        return CityState(
            city=self.city,
            sites_by_day={day: n for day, n in self.by_day.items() if n > 0},
            indicators=dict(self.current),
            indicator_history=tuple(self.history),
            last_received=dict(self.received),
            reported_periods={k: frozenset(v) for k, v in self.periods.items()},
            latest_as_of=dict(self.latest),
            period_received={k: dict(v) for k, v in self.first_receipt.items()},
        )


@functools.cache
def _day(text: str) -> date:
    return date.fromisoformat(text)


def _labels(alert_labels: dict[str, str]) -> Labels:
    return tuple(sorted(alert_labels.items()))


def due_boundaries(targets: Targets, until: datetime) -> list[datetime]:
    """Every instant a month's report falls due (the floor F moves) up to ``until``."""
    found, month = [], targets.reporting.start
    while (due := due_instant(month, targets.reporting.due_day)) <= until:
        found.append(due)
        month = month.next()
    return found


Part = tuple[str, ReportKind]
"""A city's alerts fed by one kind of report: its programmes of that kind and its overdue alert
of that kind. A report of one kind changes only that part."""


@dataclass(frozen=True)
class _Question:
    """Which alerts of ``part`` its city's ``state`` raises at ``at``."""

    part: Part
    state: CityState
    at: datetime
    interval: int
    """How many due days have passed at ``at``: the same number, the same reports past due."""


_Step = tuple[datetime, list[int], set[Labels] | None]
"""An event's instant, the questions it raised, and the province's alerts if they may change."""


@dataclass
class Replay:
    """The alerts of a story, every city and the province, from its start until ``until``."""

    targets: Targets
    scenario: Scenario
    until: datetime
    episodes: list[Episode] = field(default_factory=list)
    evaluations: int = 0
    """How many times the rules were asked (for the test's own budget)."""
    _instants: list[datetime] = field(default_factory=list)
    _snapshots: list[dict[str, CityState]] = field(default_factory=list)
    _narrowed: dict[Part, Targets] = field(default_factory=dict)
    _province_judged: date | None = None
    _due: list[datetime] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._due = due_boundaries(self.targets, self.until)
        for city in self.targets.cities.values():
            for kind in ReportKind:
                self._narrowed[city.id, kind] = self._narrow({city.id: city}, kind)
        asked, steps = self._walk()
        answers = self._answer(asked)
        raised: dict[Part | str, set[Labels]] = {}
        opened: dict[Labels, datetime] = {}
        for at, asked_now, province in steps:
            for index in asked_now:
                raised[asked[index].part] = answers[index]
            if province is not None:
                raised["province"] = province
            self._record(set().union(*raised.values()), at, opened)
        self.episodes += [Episode(labels, fired, None) for labels, fired in opened.items()]
        self.episodes.sort(key=lambda e: (e.fired, e.labels))

    def _walk(self) -> tuple[list[_Question], list[_Step]]:
        """Apply the reports in time order; note at each event which parts may have changed
        (the questions to ask) and the province's alerts if they may have."""
        records = {city: _CityRecord(city) for city in self.targets.cities}
        states = {city: record.state() for city, record in records.items()}
        asked: list[_Question] = []
        steps: list[_Step] = []
        for at, sent in self._events():
            touched: list[date] = []
            if sent is None:
                changed = [part for part in self._narrowed if self._moves(part, states, at)]
            else:
                touched = records[sent.city].apply(sent)
                states = dict(states)
                states[sent.city] = records[sent.city].state()
                changed = [(sent.city, ReportKind(sent.kind))]
            interval = bisect_right(self._due, at)
            steps.append((at, list(range(len(asked), len(asked) + len(changed))), None))
            asked += [_Question(part, states[part[0]], at, interval) for part in changed]
            if self._province_changes(states, at, sent, touched):
                steps[-1] = (*steps[-1][:2], self._province_alerts(states, at))
            self._instants.append(at)
            self._snapshots.append(states)
        return asked, steps

    def _answer(self, asked: list[_Question]) -> list[set[Labels]]:
        """Each question's alerts. Questions about different cities between the same two due
        days share a ``now`` that counts (the same reports past due), so they are asked together,
        one evaluation per round of cities: the rules judge each city on its own state alone."""
        rounds: dict[tuple[int, ReportKind, int], list[int]] = {}
        seen: Counter[tuple[int, ReportKind, str]] = Counter()
        for index, question in enumerate(asked):
            city, kind = question.part
            turn = seen[question.interval, kind, city]
            seen[question.interval, kind, city] += 1
            rounds.setdefault((question.interval, kind, turn), []).append(index)
        answers: list[set[Labels]] = [set() for _ in asked]
        for (_interval, kind, _turn), indices in rounds.items():
            cities = {asked[i].part[0]: self.targets.cities[asked[i].part[0]] for i in indices}
            narrowed = self._narrow(cities, kind)
            now = max(asked[i].at for i in indices)
            self.evaluations += 1
            alerts = evaluate_alerts(
                narrowed, {asked[i].part[0]: asked[i].state for i in indices}, now
            )
            by_city = {asked[i].part[0]: i for i in indices}
            for alert in alerts:
                if "city" in alert.labels:  # the province of a round of cities is no province
                    answers[by_city[alert.labels["city"]]].add(_labels(alert.labels))
        return answers

    def _narrow(self, cities: dict[str, City], kind: ReportKind) -> Targets:
        return dataclasses.replace(
            self.targets,
            cities=cities,
            site_programs=self._fed(self.targets.site_programs, kind),
            gigabit_programs=self._fed(self.targets.gigabit_programs, kind),
        )

    @staticmethod
    def _fed(programs: tuple[P, ...], kind: ReportKind) -> tuple[P, ...]:
        return tuple(p for p in programs if p.feeds_on is kind)

    def _events(self) -> Iterator[tuple[datetime, Submission | None]]:
        """The story's start, every report and every due day, in time order."""
        sent = [(s.at, 1, s) for s in self.scenario.submissions if s.at <= self.until]
        due = [(at, 0, None) for at in self._due]
        yield STORY_STARTS, None
        for at, _order, submission in sorted([*sent, *due], key=lambda e: (e[0], e[1])):
            yield at, submission

    def _moves(self, part: Part, states: dict[str, CityState], at: datetime) -> bool:
        """Whether passing ``at`` (the start, or a due instant) moves the judgement day of one
        of the part's programmes or its overdue run: the only ways ``now`` enters its alerts."""
        if at == STORY_STARTS:
            return True
        city, kind = part
        state, targets, before = states[city], self._narrowed[part], at - timedelta(microseconds=1)
        for program in targets.programs:
            if city_judgement_day(targets, program, state, before) != city_judgement_day(
                targets, program, state, at
            ):
                return True
        earlier, now = (report_standing(targets, state, kind, t) for t in (before, at))
        return (earlier.missing, earlier.critical) != (now.missing, now.critical)

    def _province_day(self, states: dict[str, CityState], at: datetime) -> date:
        window = self.targets.reporting_window(ReportKind.SITES)
        assert window is not None
        floor = floor_day(window, at, self.targets.reporting.due_day)
        reporting = [
            state.latest_as_of.get(ReportKind.SITES, date.min)
            for state in states.values()
            if state.reported_periods.get(ReportKind.SITES)
        ]
        return province_judgement_day(floor, reporting, date.max).day

    def _province_changes(
        self,
        states: dict[str, CityState],
        at: datetime,
        sent: Submission | None,
        touched: list[date],
    ) -> bool:
        """Its judgement day moved, a city has site data for the first time, or the report
        changed the sites it counts (one commissioned on or before its judgement day)."""
        day = self._province_day(states, at)
        moved, self._province_judged = day != self._province_judged, day
        first = sent is not None and states[sent.city].reported_periods.get(
            ReportKind.SITES
        ) == frozenset({sent.period})
        return moved or first or any(d <= day for d in touched)

    def _province_alerts(self, states: dict[str, CityState], at: datetime) -> set[Labels]:
        """FiveGProvinceBehindPlan, warning when the province is at risk, critical as well when
        it is behind (contract §4), from the province's own progress: the rest of a full
        evaluation would judge 16 unchanged cities again. ``alerts_at`` checks the equivalence."""
        self.evaluations += 1
        found: set[Labels] = set()
        for program in self.targets.site_programs:
            status = province_site_progress(self.targets, program, states, at).status
            severities = {Status.AT_RISK: ("warning",), Status.BEHIND: ("warning", "critical")}
            for severity in severities.get(status, ()):
                labels = {"alertname": "FiveGProvinceBehindPlan", "severity": severity}
                found.add(_labels(labels | {"program": program.id}))
        return found

    def _record(self, current: set[Labels], at: datetime, opened: dict[Labels, datetime]) -> None:
        for labels in current - opened.keys():
            opened[labels] = at
        for labels in opened.keys() - current:
            self.episodes.append(Episode(labels, opened.pop(labels), at))

    def states_at(self, instant: datetime) -> dict[str, CityState]:
        """What Pacer holds at ``instant`` (every report sent by then applied)."""
        index = bisect_right(self._instants, instant) - 1
        assert index >= 0, "before the story starts"
        return self._snapshots[index]

    def alerts_at(self, instant: datetime) -> set[Labels]:
        """Every alert the rules raise at ``instant``: one full evaluation, every city and the
        province, of what Pacer holds then."""
        alerts = evaluate_alerts(self.targets, self.states_at(instant), instant)
        return {_labels(alert.labels) for alert in alerts}

    def raised_at(self, instant: datetime) -> set[Labels]:
        """The alerts the replay found raised at ``instant``."""
        return {
            e.labels
            for e in self.episodes
            if e.fired <= instant and (e.resolved is None or instant < e.resolved)
        }
