"""``GET /v1/alerts``: the active alerts, Alertmanager-like."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from services.ingest.auth import Principal
from services.ingest.context import IngestContext, context, principal
from shared.store.alerts import read_active_alerts
from shared.wire_alerts import api_alert

router = APIRouter(prefix="/v1")


@router.get("/alerts")
async def alerts(
    ctx: Annotated[IngestContext, Depends(context)], _: Annotated[Principal, Depends(principal)]
) -> list[dict[str, Any]]:
    active = await read_active_alerts(ctx.redis)
    return [api_alert(record) for record in sorted(active.values(), key=lambda r: r.starts_at)]
