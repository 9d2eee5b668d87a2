"""JSON views of the domain's progress for ``GET /v1/progress`` and ``/v1/cities/{id}/progress``.

Every figure of a programme is judged at its ``judged_as_of`` day (contract §1.1), not at the
moment of the request; ``as_of`` at the top says when the answer was computed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.domain.plan import Projection
from shared.domain.progress import (
    CityProgress,
    GigabitProgress,
    ReportStanding,
    SiteProgress,
    city_progress,
    in_service_sites,
    province_site_progress,
)
from shared.domain.state import CityState
from shared.domain.targets import ProgramKind, SiteProgram, Targets


def rounded(value: float | None, digits: int = 4) -> float | None:
    """The API's rounding of a figure (the history rows round as these views do)."""
    return None if value is None else round(value, digits)


def _projection(projection: Projection | None) -> dict[str, Any]:
    if projection is None or projection.kind is None:
        return {"projection": None, "projected_completion": None, "trailing_rate_per_day": None}
    return {
        "projection": str(projection.kind),
        "projected_completion": (
            projection.completion.isoformat() if projection.completion else None
        ),
        "trailing_rate_per_day": rounded(projection.daily_rate),
    }


def site_view(program: SiteProgram, progress: SiteProgress) -> dict[str, Any]:
    view: dict[str, Any] = {
        "kind": str(progress.kind),
        "deadline": progress.deadline.isoformat(),
        "judged_as_of": progress.judged_as_of.isoformat(),
        "final": progress.judged.final,
        "status": str(progress.status),
        "unit": "new in-service sites",
        "target": progress.target_new,
        "actual": progress.new_sites,
        "planned_to_date": rounded(progress.planned_new, 1),
        "attainment": rounded(progress.attainment),
        **_projection(progress.projection),
        "baseline_verified": progress.baseline_verified,
        "target_derived": progress.target_derived,
        "plan_provisional": program.milestones_provisional,
        "sites": {
            "baseline": progress.baseline_sites,
            "new": progress.new_sites,
            "target_new": progress.target_new,
            "planned_new_to_date": rounded(progress.planned_new, 1),
            "in_service": progress.in_service,
        },
    }
    if progress.required_new > progress.target_new:
        view["sites"]["required_new"] = progress.required_new
    if progress.kind is ProgramKind.SITE_DENSITY:
        view["density"] = {
            "unit": "sites per 10,000 residents",
            "target": rounded(progress.target_density_per_10k),
            "actual": rounded(progress.density_per_10k),
            "planned_to_date": rounded(progress.planned_density_per_10k),
        }
    return view


def gigabit_view(progress: GigabitProgress) -> dict[str, Any]:
    return {
        "kind": str(ProgramKind.INDICATOR_THRESHOLDS),
        "deadline": progress.deadline.isoformat(),
        "judged_as_of": progress.judged_as_of.isoformat(),
        "final": progress.judged.final,
        "status": str(progress.status),
        "attainment": rounded(progress.attainment),
        "standard_met": progress.standard_met,
        "unit": "indicators passing",
        "target": len(progress.thresholded),
        "actual": progress.passing_count,
        "planned_to_date": len(progress.thresholded),
        **_projection(None),
        "indicators": {
            standing.indicator.key: {
                "value": standing.reading.value if standing.reading else None,
                "as_of": standing.reading.as_of.isoformat() if standing.reading else None,
                "rule": str(standing.indicator.rule),
                "threshold": standing.indicator.threshold,
                "unit": standing.indicator.unit,
                "verified": standing.indicator.verified,
                "passing": standing.passing,
            }
            for standing in progress.indicators
        },
    }


def report_view(standing: ReportStanding) -> dict[str, Any]:
    return {
        "last_received": standing.last_received.isoformat() if standing.last_received else None,
        "latest_period": str(standing.latest_reported) if standing.latest_reported else None,
        "latest_due_period": str(standing.latest_due) if standing.latest_due else None,
        "overdue": standing.overdue,
        "missing_since": str(standing.missing[0]) if standing.missing else None,
        "missing_months": len(standing.missing),
    }


def city_view(
    targets: Targets, progress: CityProgress, state: CityState, now: datetime
) -> dict[str, Any]:
    city = progress.city
    site_programs = {p.id: p for p in targets.site_programs}
    return {
        "city": city.id,
        "code": city.code,
        "name": city.name,
        "name_en": city.name_en,
        "population": city.population,
        "sites_in_service": in_service_sites(targets, city, state, now),
        "programs": {p.program: site_view(site_programs[p.program], p) for p in progress.sites}
        | {g.program: gigabit_view(g) for g in progress.gigabit},
        "reports": {str(r.kind): report_view(r) for r in progress.reports},
    }


def province_view(targets: Targets, states: dict[str, CityState], now: datetime) -> dict[str, Any]:
    cities = {
        city_id: city_view(
            targets, city_progress(targets, city, states[city_id], now), states[city_id], now
        )
        for city_id, city in targets.cities.items()
    }
    sites = {
        p.id: site_view(p, province_site_progress(targets, p, states, now))
        for p in targets.site_programs
    }
    for program in targets.site_programs:
        if program.province_in_service_over is not None:
            sites[program.id]["in_service_over"] = program.province_in_service_over
    gigabit = {
        program.id: {
            "cities_meeting_standard": sum(
                1 for c in cities.values() if c["programs"][program.id]["standard_met"]
            ),
            "cities": len(cities),
        }
        for program in targets.gigabit_programs
    }
    return {"as_of": now.isoformat(), "province": {"programs": sites | gigabit}, "cities": cities}
