"""JSON views of the history (contract §6) for ``GET /v1/cities/{city}/history`` and
``GET /v1/history``; the CSV export (``export_csv``) writes the same rows flattened.

A row holds the month, the day it is judged on and the figures of ``/v1/progress`` at that day,
rounded the same way, plus the month's report: ``report`` (on_time, late, missing, not_due,
unrecorded), ``received_at`` and ``report_due`` in Asia/Shanghai time. The province's rows count
the cities' reports of each timeliness instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.ingest.progress_view import rounded
from shared.domain.calendar import PROVINCE_TZ
from shared.domain.history import (
    CityMonth,
    MonthReport,
    ProvinceGigabitStanding,
    ProvinceMonth,
    SiteMonth,
    city_history,
    city_span,
    province_history,
)
from shared.domain.progress import GigabitProgress, SiteProgress, province_judgement
from shared.domain.state import CityState
from shared.domain.targets import City, GigabitProgram, SiteProgram, Targets

Program = SiteProgram | GigabitProgram


def local_instant(instant: datetime | None) -> str | None:
    return instant.astimezone(PROVINCE_TZ).isoformat() if instant else None


def site_figures(progress: SiteProgress) -> dict[str, Any]:
    return {
        "judged_as_of": progress.judged_as_of.isoformat(),
        "final": progress.judged.final,
        "status": str(progress.status),
        "attainment": rounded(progress.attainment),
        "new": progress.new_sites,
        "planned": rounded(progress.planned_new, 1),
        "target": progress.target_new,
        "in_service": progress.in_service,
    }


def gigabit_figures(progress: GigabitProgress) -> dict[str, Any]:
    return {
        "judged_as_of": progress.judged_as_of.isoformat(),
        "final": progress.judged.final,
        "status": str(progress.status),
        "attainment": rounded(progress.attainment),
        "indicators_passing": progress.passing_count,
        "indicators_thresholded": len(progress.thresholded),
        "standard_met": progress.standard_met,
        "indicators": {
            s.indicator.key: {
                "value": s.reading.value if s.reading else None,
                "as_of": s.reading.as_of.isoformat() if s.reading else None,
                "passing": s.passing,
            }
            for s in progress.indicators
        },
    }


def province_gigabit_figures(standing: ProvinceGigabitStanding) -> dict[str, Any]:
    return {
        "judged_as_of": standing.judged_as_of.isoformat(),
        "final": standing.judged.final,
        "status": str(standing.status),
        "attainment": rounded(standing.attainment),
        "cities_meeting_standard": standing.cities_meeting_standard,
        "cities_reporting": standing.cities_reporting,
        "cities": standing.cities,
    }


def report_fields(report: MonthReport) -> dict[str, Any]:
    return {
        "report": str(report.timeliness),
        "received_at": local_instant(report.received_at),
        "report_due": local_instant(report.due),
    }


def city_row(row: CityMonth) -> dict[str, Any]:
    figures = (
        site_figures(row.progress) if isinstance(row, SiteMonth) else gigabit_figures(row.progress)
    )
    return {"month": str(row.month)} | figures | report_fields(row.report)


def province_row(row: ProvinceMonth) -> dict[str, Any]:
    progress = row.progress
    figures = (
        province_gigabit_figures(progress)
        if isinstance(progress, ProvinceGigabitStanding)
        else site_figures(progress)
    )
    reports = {str(timeliness): count for timeliness, count in row.reports.items()}
    return {"month": str(row.month)} | figures | {"reports": reports}


def _program_fields(program: Program) -> dict[str, Any]:
    return {
        "program": program.id,
        "kind": str(program.kind),
        "start": program.start.isoformat(),
        "deadline": program.deadline.isoformat(),
    }


def city_history_view(
    targets: Targets, program: Program, city: City, state: CityState, now: datetime
) -> dict[str, Any]:
    """The whole answer of ``GET /v1/cities/{city}/history``."""
    return {
        "as_of": now.isoformat(),
        "city": city.id,
        "code": city.code,
        "name": city.name,
        "name_en": city.name_en,
        **_program_fields(program),
        "judged_as_of": city_span(targets, program, state, now).live.day.isoformat(),
        "rows": [city_row(row) for row in city_history(targets, program, city, state, now)],
    }


def province_history_view(
    targets: Targets, program: Program, states: dict[str, CityState], now: datetime
) -> dict[str, Any]:
    """The whole answer of ``GET /v1/history``."""
    known = [states.get(c, CityState(c)) for c in targets.cities]
    return {
        "as_of": now.isoformat(),
        **_program_fields(program),
        "judged_as_of": province_judgement(targets, program, known, now).day.isoformat(),
        "rows": [province_row(row) for row in province_history(targets, program, states, now)],
    }
