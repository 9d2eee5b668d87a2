"""What became of submitted reports: ``GET /v1/cities/{city}/reports[/{report_id}]`` and
``GET /v1/reports/{report_id}``.

A report id names a report within its city (contract §3). Any valid token reads any city's
reports by their canonical path. The city-less path stays for clients written before ids were
per city: a city token reads its own city's report there and learns nothing of other cities' ids
(it gets the same 404 whether or not another city used the id); an admin or viewer gets the report
when exactly one city has that id, else a 409 naming the cities.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.responses import JSONResponse

from services.ingest.auth import Principal, Role
from services.ingest.context import IngestContext, context, known_city, principal
from services.ingest.errors import ApiError, ErrorItem, ErrorsBody, error_responses
from shared.wire import ReportId, ReportPage, ReportRecord

router = APIRouter()

DEFAULT_PAGE = 50
MAX_PAGE = 500
"""A page of 500 records is ~150 KB of JSON and one round trip for the ids and one for the
records; a city files about 2 reports a month, so 500 is 20 years of them."""


class ReportInSeveralCities(ErrorsBody):
    """409 of ``GET /v1/reports/{report_id}``: the id names a report in more than one city."""

    cities: list[str]


def _unknown_report(report_id: str) -> ApiError:
    return ApiError.single(
        404, "unknown_report", f"no report {report_id!r}", loc=["path", "report_id"]
    )


@router.get(
    "/cities/{city}/reports/{report_id}",
    response_model=ReportRecord,
    response_model_exclude_none=True,
    responses=error_responses(404),
    summary="A report of the city",
    description="What became of one of the city's reports: accepted, applied (with its summary) "
    "or rejected (with its errors). The `Location` of a submission's 202 points here. Any token "
    "reads it; the city holding a site id the report claimed is named to admin and viewer "
    "tokens only.",
)
async def get_city_report(
    city: str,
    report_id: str,
    ctx: Annotated[IngestContext, Depends(context)],
    who: Annotated[Principal, Depends(principal)],
) -> ReportRecord:
    known_city(ctx, city)
    record = await ctx.store.record(city, report_id, name_owners=who.sees_site_owners)
    if record is None:
        raise _unknown_report(report_id)
    return record


@router.get(
    "/cities/{city}/reports",
    response_model=ReportPage,
    response_model_exclude_none=True,
    responses=error_responses(404),
    summary="The city's reports, newest first",
    description=f"At most `limit` (default {DEFAULT_PAGE}, at most {MAX_PAGE}) of the city's "
    "reports, newest first. `next_before` is the cursor of the next (older) page: pass it as "
    "`before`; it is null on the last page. An unknown `before` is a 422.",
)
async def list_city_reports(
    city: str,
    ctx: Annotated[IngestContext, Depends(context)],
    who: Annotated[Principal, Depends(principal)],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="reports per page")] = DEFAULT_PAGE,
    before: Annotated[
        ReportId | None,
        Query(description="the report id after which the page starts (a `next_before`)"),
    ] = None,
) -> ReportPage:
    known_city(ctx, city)
    page = await ctx.store.page(city, limit, before, name_owners=who.sees_site_owners)
    if page is None:
        raise ApiError.single(
            422,
            "unknown_report",
            f"{city} has no report {before!r} to start after",
            loc=["query", "before"],
        )
    return page


@router.get(
    "/reports/{report_id}",
    response_model=ReportRecord,
    response_model_exclude_none=True,
    responses={
        **error_responses(404),
        409: {
            "model": ReportInSeveralCities,
            "description": "(admin and viewer tokens) several cities have a report with this id: "
            "read it at /v1/cities/{city}/reports/{report_id}.",
        },
    },
    summary="A report by id alone",
    description="A city token reads its own city's report. An admin or viewer token gets the "
    "report when exactly one city has that id, else a 409 listing the cities.",
)
async def get_report(
    report_id: str,
    ctx: Annotated[IngestContext, Depends(context)],
    who: Annotated[Principal, Depends(principal)],
) -> Any:
    if who.role is Role.CITY:
        assert who.city is not None
        cities = [who.city]
    else:
        cities = await ctx.store.cities_with(report_id, list(ctx.targets.cities))
    if len(cities) > 1:
        return _in_several_cities(report_id, cities)
    record = (
        await ctx.store.record(cities[0], report_id, name_owners=who.sees_site_owners)
        if cities
        else None
    )
    if record is None:
        raise _unknown_report(report_id)
    return record


def _in_several_cities(report_id: str, cities: list[str]) -> JSONResponse:
    error = ErrorItem(
        ["path", "report_id"],
        "report_in_several_cities",
        f"{len(cities)} cities have a report {report_id!r} ({', '.join(cities)}): read it at "
        f"/v1/cities/{{city}}/reports/{report_id}",
    )
    body: BaseModel = ReportInSeveralCities.model_validate(
        {"errors": [error.as_json()], "cities": cities}
    )
    return JSONResponse(body.model_dump(), status_code=409)
