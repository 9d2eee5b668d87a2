"""Pacer's gauges, computed by the pure domain from one snapshot of the stored state.

A new collector is made for every scrape: no number is kept between scrapes, so every replica of
the exporter returns the same numbers for the same state and clock. ``gauges()`` feeds the
exporter's own renderer (``exposition.TextExposition``); ``collect()`` gives the same families to
a ``prometheus_client`` registry.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import date, datetime

from prometheus_client.core import Metric

from services.exporter.exposition import Counter, Gauge, TextExposition, as_metric, from_metric
from services.exporter.snapshot import Snapshot
from shared.domain.calendar import end_of_day, start_of_day
from shared.domain.plan import ALL_STATUSES, Status
from shared.domain.progress import (
    GigabitProgress,
    SiteProgress,
    city_gigabit_progress,
    city_site_progress,
    in_service_sites,
)
from shared.domain.state import CityState
from shared.domain.targets import City, Targets
from shared.runtime_metrics import runtime_families
from shared.store.reports import REJECTION_CODES


def render(
    exposition: TextExposition, targets: Targets, snapshot: Snapshot, now: datetime
) -> bytes:
    """The text exposition of every Pacer gauge at ``now``, then the process's own families
    (``process_*``, ``python_info``, ``pacer_build_info``) as every service shows them."""
    return exposition.render(
        itertools.chain(PacerCollector(targets, snapshot, now).gauges(), runtime_gauges())
    )


def runtime_gauges() -> list[Gauge]:
    return [from_metric(metric) for metric in runtime_families()]


class PacerCollector:
    def __init__(self, targets: Targets, snapshot: Snapshot, now: datetime) -> None:
        self._targets = targets
        self._snapshot = snapshot
        self._now = now

    def _cities(self) -> Iterator[tuple[City, CityState]]:
        for city in self._targets.cities.values():
            yield city, self._snapshot.states.get(city.id, CityState(city.id))

    def collect(self) -> Iterator[Metric]:
        return (as_metric(gauge) for gauge in self.gauges())

    def gauges(self) -> Iterator[Gauge]:
        """Every family, lazily: the scrape duration, last, counts the rendering before it."""
        started = time.perf_counter()
        targets, now = self._targets, self._now
        sites = [
            (city.id, city_site_progress(targets, program, city, state, now))
            for city, state in self._cities()
            for program in targets.site_programs
        ]
        gigabit = [
            (city.id, city_gigabit_progress(targets, program, state, now))
            for city, state in self._cities()
            for program in targets.gigabit_programs
        ]
        yield from self._site_families(sites)
        yield from self._program_families(sites, gigabit)
        yield from self._gigabit_families(
            [(city, progress) for city, progress in gigabit if progress.program == self._gigabit_id]
        )
        yield self._last_received()
        yield self._latest_period()
        yield self._rejected_reports()
        yield self._alerts()
        yield from self._stream_families()
        yield from self._exporter_families(started)

    @property
    def _gigabit_id(self) -> str:
        return self._targets.gigabit.id

    def _site_families(self, sites: list[tuple[str, SiteProgress]]) -> Iterator[Gauge]:
        in_service = Gauge(
            "pacer_5g_sites_in_service",
            "5G base stations in service in the city: its baseline plus every in-service site "
            "reported as commissioned since the baseline date.",
            ("city",),
        )
        density = Gauge(
            "pacer_5g_sites_per_10k",
            "5G base stations in service per 10,000 residents (2020 census), Pacer's own figure "
            "from the site records (not the bs_5g_per_10k value the city reports).",
            ("city",),
        )
        for city, state in self._cities():
            count = in_service_sites(self._targets, city, state, self._now)
            in_service.add((city.id,), count)
            density.add((city.id,), count / city.population * 10_000)
        yield in_service
        yield density

        new = Gauge(
            "pacer_5g_sites_new",
            "New in-service 5G sites the city has added since the program's start, counted up "
            "to the program's judgement day (pacer_program_judged_as_of_timestamp_seconds).",
            ("city", "program"),
        )
        target = Gauge(
            "pacer_5g_sites_target_new",
            "New in-service 5G sites the program requires of the city by its deadline.",
            ("city", "program"),
        )
        planned = Gauge(
            "pacer_5g_sites_planned_new",
            "New in-service 5G sites the city should have added by the end of the judgement day "
            "under the program's plan (through its monthly milestones, linear between them).",
            ("city", "program"),
        )
        for city_id, progress in sites:
            new.add((city_id, progress.program), progress.new_sites)
            target.add((city_id, progress.program), progress.target_new)
            planned.add((city_id, progress.program), progress.planned_new)
        yield from (new, target, planned)

    def _program_families(
        self, sites: list[tuple[str, SiteProgress]], gigabit: list[tuple[str, GigabitProgress]]
    ) -> Iterator[Gauge]:
        ratio = Gauge(
            "pacer_program_attainment_ratio",
            "Attainment at the judgement day: new over planned-to-date new sites (site_rollout "
            "and site_density), or the share of thresholded gigabit indicators that pass "
            "(indicator_thresholds). No sample while the city has no data.",
            ("city", "program"),
        )
        status = Gauge(
            "pacer_program_status",
            "1 for the city's current status on the program, 0 for every other status "
            "(no_data, on_track, at_risk, behind, met, missed).",
            ("city", "program", "status"),
        )
        judged = Gauge(
            "pacer_program_judged_as_of_timestamp_seconds",
            "End of the day the city is judged on for the program (contract 1.1: the later of "
            "the last past-due month's end and its latest report's as_of, held at the "
            "deadline), as Unix time.",
            ("city", "program"),
        )
        standings: list[tuple[str, str, float | None, Status, date]] = [
            (city, p.program, p.attainment, p.status, p.judged_as_of) for city, p in sites
        ] + [(city, p.program, p.attainment, p.status, p.judged_as_of) for city, p in gigabit]
        for city, program, attainment, current, day in standings:
            if attainment is not None:
                ratio.add((city, program), attainment)
            for candidate in ALL_STATUSES:
                status.add((city, program, candidate), float(candidate is current))
            judged.add((city, program), end_of_day(day).timestamp())
        yield ratio
        yield status
        yield judged
        yield self._baselines_verified()

    def _baselines_verified(self) -> Gauge:
        family = Gauge(
            "pacer_program_baseline_verified",
            "1 when the program's city baselines and targets are official figures, 0 while they "
            "are the targets file's illustrative allocation.",
            ("program",),
        )
        for program in self._targets.site_programs:
            verified = self._targets.baselines_verified and program.quotas_verified
            family.add((program.id,), float(verified))
        return family

    def _gigabit_families(self, gigabit: list[tuple[str, GigabitProgress]]) -> Iterator[Gauge]:
        threshold = Gauge(
            "pacer_gigabit_indicator_threshold",
            "Threshold of a gigabit-city indicator (MIIT standard; the rule is > or >= as the "
            "targets file says).",
            ("indicator",),
        )
        verified = Gauge(
            "pacer_gigabit_indicator_threshold_verified",
            "1 when the indicator's threshold is verified against the MIIT annex, 0 when it is the "
            "loosest value known to have passed MIIT's 2022 round.",
            ("indicator",),
        )
        for indicator in self._targets.gigabit.indicators:
            if indicator.threshold is not None:
                threshold.add((indicator.key,), indicator.threshold)
                verified.add((indicator.key,), float(indicator.verified))
        yield threshold
        yield verified

        value = Gauge(
            "pacer_gigabit_indicator_value",
            "The city's value of a gigabit-city indicator in force at the judgement day: the one "
            "with the latest as_of on or before it (only indicators the city has reported).",
            ("city", "indicator"),
        )
        passing = Gauge(
            "pacer_gigabit_indicator_passing",
            "1 when the city's value of a thresholded indicator in force at the judgement day "
            "meets the threshold, 0 when it fails or has not been reported.",
            ("city", "indicator"),
        )
        met = Gauge(
            "pacer_gigabit_standard_met",
            "1 when every thresholded gigabit-city indicator of the city passes on its value in "
            "force at the judgement day, else 0.",
            ("city",),
        )
        for city, progress in gigabit:
            for standing in progress.indicators:
                key = standing.indicator.key
                if standing.reading is not None:
                    value.add((city, key), standing.reading.value)
                if standing.indicator.threshold is not None:
                    passing.add((city, key), float(bool(standing.passing)))
            met.add((city,), float(progress.standard_met))
        yield from (value, passing, met)

    def _last_received(self) -> Gauge:
        family = Gauge(
            "pacer_report_last_received_timestamp_seconds",
            "Unix time at which the city's latest applied report of this kind was received "
            "(absent until one is).",
            ("city", "kind"),
        )
        for city, state in self._cities():
            for kind, received in state.last_received.items():
                family.add((city.id, kind), received.timestamp())
        return family

    def _latest_period(self) -> Gauge:
        family = Gauge(
            "pacer_report_latest_period",
            "The latest month the city has an applied report of this kind for, as the Unix time "
            "of that month's first day (00:00 Asia/Shanghai); absent until one is.",
            ("city", "kind"),
        )
        for city, state in self._cities():
            for kind, periods in state.reported_periods.items():
                if periods:
                    family.add((city.id, kind), start_of_day(max(periods).first_day).timestamp())
        return family

    def _rejected_reports(self) -> Counter:
        family = Counter(
            "pacer_reports_rejected_total",
            "Reports answered 202 that the aggregator then rejected, each counted once under its "
            "first error's code: site_registered_elsewhere (another city's report took a site id "
            "first), site_limit_exceeded (past limits.max_sites_per_city), dead_lettered (could "
            "not be applied in PACER_MAX_ATTEMPTS tries). Every city's possible codes start at 0.",
            ("city", "kind", "code"),
        )
        stored = {(c.city, c.kind, c.code): c.count for c in self._snapshot.rejected}
        shown = {
            (city, str(kind), code)
            for city in self._targets.cities
            for kind, codes in REJECTION_CODES.items()
            for code in codes
        } | {key for key in stored if key[0] in self._targets.cities}
        for key in sorted(shown):
            family.add(key, stored.get(key, 0))
        return family

    def _alerts(self) -> Gauge:
        family = Gauge(
            "pacer_alerts_firing",
            "Pacer alerts currently firing, by alert name and severity.",
            ("alertname", "severity"),
        )
        for alert in self._snapshot.alerts:
            family.add((alert.alertname, alert.severity), alert.firing)
        return family

    def _stream_families(self) -> Iterator[Gauge]:
        stats = self._snapshot.streams
        length = Gauge("pacer_stream_length", "Entries in a Pacer Redis stream.", ("stream",))
        for stream, entries in stats.lengths.items():
            length.add((stream,), entries)
        pending = Gauge(
            "pacer_stream_pending_messages",
            "Entries delivered to the consumer group but not yet acknowledged.",
            ("stream", "group"),
        )
        lag = Gauge(
            "pacer_stream_lag_messages",
            "Entries of the stream not yet delivered to the consumer group.",
            ("stream", "group"),
        )
        for group in stats.groups:
            pending.add((group.stream, group.group), group.pending)
            lag.add((group.stream, group.group), group.lag)
        dead = Gauge(
            "pacer_dead_letter_messages",
            "Entries of the stream that could not be applied and were moved to its dead-letter "
            "stream, with the reason.",
            ("stream",),
        )
        for stream, entries in self._snapshot.dead_letters.items():
            dead.add((stream,), entries)
        yield from (length, pending, lag, dead)

    def _exporter_families(self, started: float) -> Iterator[Gauge]:
        yield Gauge(
            "pacer_exporter_clock_timestamp_seconds",
            "Pacer's now (PACER_CLOCK) for this scrape as Unix time; it differs from the wall "
            "clock when the system runs as of another date.",
            samples=[((), self._now.timestamp())],
        )
        yield Gauge(
            "pacer_exporter_scrape_duration_seconds",
            "Seconds this scrape spent reading the state from Redis and computing the metrics.",
            samples=[((), self._snapshot.read_seconds + (time.perf_counter() - started))],
        )
