"""JSON views of the domain's progress for ``GET /v1/progress`` and ``/v1/cities/{id}/progress``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.domain.progress import (
    CityProgress,
    GigabitProgress,
    SiteProgress,
    city_progress,
    in_service_sites,
    province_site_progress,
)
from shared.domain.state import CityState
from shared.domain.targets import ProgramKind, Targets


def _rounded(value: float, digits: int = 4) -> float:
    return round(value, digits)


def site_view(progress: SiteProgress) -> dict[str, Any]:
    view: dict[str, Any] = {
        "kind": str(progress.kind),
        "deadline": progress.deadline.isoformat(),
        "status": str(progress.status),
        "attainment": _rounded(progress.attainment),
        "projected_completion": (
            progress.projected_completion.isoformat() if progress.projected_completion else None
        ),
        "trailing_90d_sites_per_day": _rounded(progress.daily_rate),
        "sites": {
            "baseline": progress.baseline_sites,
            "new": progress.new_sites,
            "target_new": progress.target_new,
            "planned_new_to_date": _rounded(progress.planned_new, 1),
            "in_service": progress.in_service,
        },
    }
    if progress.kind is ProgramKind.SITE_DENSITY:
        view |= {
            "unit": "sites per 10,000 residents",
            "target": _rounded(progress.target_density_per_10k),
            "actual": _rounded(progress.density_per_10k),
            "planned_to_date": _rounded(progress.planned_density_per_10k),
        }
    else:
        view |= {
            "unit": "new in-service sites",
            "target": progress.target_new,
            "actual": progress.new_sites,
            "planned_to_date": _rounded(progress.planned_new, 1),
        }
    return view


def gigabit_view(progress: GigabitProgress) -> dict[str, Any]:
    return {
        "kind": str(ProgramKind.INDICATOR_THRESHOLDS),
        "deadline": progress.deadline.isoformat(),
        "status": str(progress.status),
        "attainment": _rounded(progress.attainment),
        "standard_met": progress.standard_met,
        "unit": "indicators passing",
        "target": len(progress.thresholded),
        "actual": progress.passing_count,
        "planned_to_date": len(progress.thresholded),
        "projected_completion": None,
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


def city_view(
    targets: Targets, progress: CityProgress, state: CityState, now: datetime
) -> dict[str, Any]:
    city = progress.city
    return {
        "city": city.id,
        "code": city.code,
        "name": city.name,
        "name_en": city.name_en,
        "population": city.population,
        "sites_in_service": in_service_sites(targets, city, state, now),
        "programs": {p.program: site_view(p) for p in progress.sites}
        | {g.program: gigabit_view(g) for g in progress.gigabit},
        "reports": {
            str(r.kind): {
                "last_received": r.last_received.isoformat() if r.last_received else None,
                "latest_due_period": str(r.latest_due) if r.latest_due else None,
                "overdue": r.overdue,
            }
            for r in progress.reports
        },
    }


def province_view(targets: Targets, states: dict[str, CityState], now: datetime) -> dict[str, Any]:
    cities = {
        city_id: city_view(
            targets, city_progress(targets, city, states[city_id], now), states[city_id], now
        )
        for city_id, city in targets.cities.items()
    }
    gigabit_met = {
        program.id: sum(1 for c in cities.values() if c["programs"][program.id]["standard_met"])
        for program in targets.gigabit_programs
    }
    return {
        "as_of": now.isoformat(),
        "province": {
            "programs": {
                p.id: site_view(province_site_progress(p, targets, states, now))
                for p in targets.site_programs
            }
            | {
                program_id: {"cities_meeting_standard": met, "cities": len(cities)}
                for program_id, met in gigabit_met.items()
            },
        },
        "cities": cities,
    }
