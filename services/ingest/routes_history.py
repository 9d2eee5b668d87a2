"""``GET /v1/cities/{city}/history``, ``GET /v1/history`` and ``GET /v1/export.csv`` (§6).

Any valid token reads them. Each route reads the stored state and hands it, with the clock's now,
to one function of ``history_view`` or ``export_csv``, so a cache can wrap that function as it
wraps the progress views.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from services.ingest.auth import Principal
from services.ingest.context import IngestContext, context, known_city, principal
from services.ingest.errors import ApiError, error_responses
from services.ingest.export_csv import export_csv
from services.ingest.history_view import Program, city_history_view, province_history_view
from shared.domain.calendar import Period, local_date
from shared.store.state import read_city_states

router = APIRouter(prefix="/v1")

ProgramId = Annotated[
    str, Query(description="a programme id of the targets file, e.g. 5g-2025", max_length=64)
]
Month = Annotated[
    str,
    Query(description="the month, YYYY-MM (not after the current one)", pattern=r"^\d{4}-\d{2}$"),
]
ROW_FIELDS = (
    "Each row: `month`, `judged_as_of` (the month's last day; the month of D is judged at D, as "
    "`/v1/progress` is), `final`, `status`, `attainment` and the programme's figures at that day "
    "with what Pacer knows now (sites: `new` cumulative, `planned`, `target`, `in_service`; "
    "gigabit: the indicator values in force at that day, `indicators_passing`, `standard_met`)"
)


def _program(ctx: IngestContext, program_id: str) -> Program:
    program = next((p for p in ctx.targets.programs if p.id == program_id), None)
    if program is None:
        known = ", ".join(ctx.targets.program_ids)
        raise ApiError.single(
            422,
            "unknown_program",
            f"{program_id!r} is not a programme of the targets file ({known})",
            loc=["query", "program"],
        )
    return program


@router.get(
    "/cities/{city}/history",
    responses=error_responses(404, 422),
    summary="A city's standing at each month end of a programme",
    description=f"One row per month from the programme's start to the month of the city's "
    f"judgement day. {ROW_FIELDS}; and the month's report of the kind feeding the programme: "
    "`report` (`on_time`, `late`, `missing`, `not_due`, or `unrecorded` when it was applied "
    "before Pacer recorded receipts), `received_at` (its first receipt) and `report_due`.",
)
async def city_history_route(
    city: str,
    program: ProgramId,
    ctx: Annotated[IngestContext, Depends(context)],
    _: Annotated[Principal, Depends(principal)],
) -> dict[str, Any]:
    known_city(ctx, city)
    chosen = _program(ctx, program)
    state = (await read_city_states(ctx.redis, [city]))[city]
    return city_history_view(ctx.targets, chosen, ctx.targets.cities[city], state, ctx.clock.now())


@router.get(
    "/history",
    responses=error_responses(422),
    summary="The province's standing at each month end of a programme",
    description=f"One row per month from the programme's start to the month of the province's "
    f"judgement day. {ROW_FIELDS}. Site programmes sum the cities' sites; on a gigabit programme "
    "the province is met when every city meets the standard (`cities_meeting_standard` of "
    "`cities`). `reports` counts the cities' reports for the month by timeliness.",
)
async def province_history_route(
    program: ProgramId,
    ctx: Annotated[IngestContext, Depends(context)],
    _: Annotated[Principal, Depends(principal)],
) -> dict[str, Any]:
    chosen = _program(ctx, program)
    states = await read_city_states(ctx.redis, list(ctx.targets.cities))
    return province_history_view(ctx.targets, chosen, states, ctx.clock.now())


@router.get(
    "/export.csv",
    response_class=Response,
    responses={
        200: {
            "description": "UTF-8 with a byte-order mark; a header row, then one row per city "
            "and programme open that month, the province's row after each programme's cities.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **error_responses(422),
    },
    summary="Every city and programme at a month's end, as CSV for spreadsheets",
    description="The rows of the histories for `month`, flattened: one column per gigabit "
    "indicator, `reports_<timeliness>` for the province's counts; empty cells for null.",
)
async def export_route(
    month: Month,
    ctx: Annotated[IngestContext, Depends(context)],
    _: Annotated[Principal, Depends(principal)],
) -> Response:
    now = ctx.clock.now()
    period = _month(month, Period.of(local_date(now)))
    states = await read_city_states(ctx.redis, list(ctx.targets.cities))
    return Response(
        export_csv(ctx.targets, states, now, period),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="pacer-{period}.csv"'},
    )


def _month(text: str, current: Period) -> Period:
    try:
        period = Period.parse(text)
    except ValueError as exc:
        raise ApiError.single(422, "invalid_month", str(exc), loc=["query", "month"]) from exc
    if period > current:
        raise ApiError.single(
            422,
            "month_in_future",
            f"{period} is after the current month ({current})",
            loc=["query", "month"],
        )
    return period
