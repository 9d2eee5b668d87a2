"""``POST /v1/sites/{site_id}/release`` (admin): a site id leaves the city that holds it.

A site id belongs to the first city whose report with it is applied; one registered by mistake
(or squatted) blocks its real city's reports with ``site_registered_elsewhere``. Releasing it
removes it from its owner's registry and, if the owner held it in service, from that city's count;
the next report that names it registers it to its own city.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from services.ingest.auth import Principal, Role, forbidden
from services.ingest.context import IngestContext, context, principal
from services.ingest.errors import ApiError, error_responses

router = APIRouter()


class SiteReleased(BaseModel):
    site_id: str
    former_owner: str
    """The city that held the site id."""
    was_in_service: bool
    """Whether the former owner counted the site as in service (its count went down by one)."""


@router.post(
    "/sites/{site_id}/release",
    response_model=SiteReleased,
    responses=error_responses(403, 404),
    summary="Release a site id from the city that holds it (admin)",
)
async def release_site(
    site_id: str,
    ctx: Annotated[IngestContext, Depends(context)],
    who: Annotated[Principal, Depends(principal)],
) -> SiteReleased:
    if who.role is not Role.ADMIN:
        raise forbidden(f"{who.name} ({who.role}) may not release site ids")
    released = await ctx.store.release_site(site_id)
    if released is None:
        raise ApiError.single(
            404, "unknown_site", f"no city holds site {site_id!r}", loc=["path", "site_id"]
        )
    return SiteReleased(
        site_id=site_id,
        former_owner=released.former_owner,
        was_in_service=released.was_in_service,
    )
