"""``GET /v1/me``: who the token is (name, role, city), so that a client such as the portal can
show a person what they may do without trying it. Any valid token; it learns only about itself."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.ingest.auth import Principal
from services.ingest.context import principal

router = APIRouter(prefix="/v1")


@router.get("/me", summary="The caller's token: name, role and city")
async def me(who: Annotated[Principal, Depends(principal)]) -> dict[str, Any]:
    return {"name": who.name, "role": str(who.role), "city": who.city}
