"""``GET /v1/progress`` and ``GET /v1/cities/{city}/progress``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from services.ingest.auth import Principal
from services.ingest.context import IngestContext, context, known_city, principal
from services.ingest.errors import error_responses
from services.ingest.progress_view import city_view
from shared.domain.progress import city_progress
from shared.store.state import read_city_states

router = APIRouter(prefix="/v1")


@router.get("/progress", response_model=dict[str, Any])
async def progress(
    ctx: Annotated[IngestContext, Depends(context)], _: Annotated[Principal, Depends(principal)]
) -> Response:
    return Response(await ctx.province_progress.get(), media_type="application/json")


@router.get("/cities/{city}/progress", responses=error_responses(404))
async def city_progress_route(
    city: str,
    ctx: Annotated[IngestContext, Depends(context)],
    _: Annotated[Principal, Depends(principal)],
) -> dict[str, Any]:
    known_city(ctx, city)
    now = ctx.clock.now()
    state = (await read_city_states(ctx.redis, [city], judging_up_to=ctx.targets.gigabit.deadline))[
        city
    ]
    target_city = ctx.targets.cities[city]
    return {"as_of": now.isoformat()} | city_view(
        ctx.targets, city_progress(ctx.targets, target_city, state, now), state, now
    )
