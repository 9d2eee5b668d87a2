"""Webhook subscriptions (admin only): create, list, delete, and each one's recent deliveries.

A subscription's secret is stored (the delivery worker signs with it) but never returned or logged.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.ingest.auth import Principal, Role, forbidden
from services.ingest.context import IngestContext, context, not_a_city, principal
from services.ingest.errors import ApiError, ErrorItem, ErrorsBody, error_responses
from services.ingest.validation import json_body
from shared.dns import ResolutionError, resolve
from shared.store.deliveries import Deliveries
from shared.store.subscriptions import SubscriptionStore
from shared.webhook_policy import literal_address, refusal
from shared.wire_alerts import Subscription, SubscriptionRequest
from shared.wire_deliveries import HISTORY_CAP

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorsBody} for status in (401, 403, 404, 415, 422)
}


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its ``$defs`` inlined: the body is parsed by hand (for 415
    and exact locs), so FastAPI does not list the model among the document's components."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role is not Role.ADMIN:
        raise forbidden(f"{who.name} ({who.role}) may not manage subscriptions")
    return who


def store(ctx: Annotated[IngestContext, Depends(context)]) -> SubscriptionStore:
    return SubscriptionStore(ctx.redis)


Admin = Annotated[Principal, Depends(admin)]
Store = Annotated[SubscriptionStore, Depends(store)]


def deliveries(ctx: Annotated[IngestContext, Depends(context)]) -> Deliveries:
    return Deliveries(ctx.redis)


DeliveryQueue = Annotated[Deliveries, Depends(deliveries)]


def _check_filters(ctx: IngestContext, request: SubscriptionRequest) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    for index, city in enumerate(request.filters.cities or []):
        if city not in ctx.targets.cities:
            errors.append(
                ErrorItem(
                    ["body", "filters", "cities", index], "unknown_city", not_a_city(ctx, city)
                )
            )
    for index, program in enumerate(request.filters.programs or []):
        if program not in ctx.targets.program_ids:
            errors.append(
                ErrorItem(
                    ["body", "filters", "programs", index],
                    "unknown_program",
                    f"{program!r} is not a program of the targets file",
                )
            )
    return errors


async def _check_url(ctx: IngestContext, request: SubscriptionRequest) -> list[ErrorItem]:
    """Refuse a URL that points into Pacer's own network (SSRF), unless the allow list has it."""
    host = request.url.host or ""
    literal = literal_address(host)
    if literal is not None:
        addresses = [str(literal)]
    elif ctx.webhook_allow.allows_host(host):
        return []
    else:
        try:
            addresses = await resolve(host, request.url.port or 443)
        except ResolutionError:
            # Not resolvable now (maybe not yet): the delivery worker checks before each attempt.
            return []
    reason = refusal(host, addresses, ctx.webhook_allow)
    return [ErrorItem(["body", "url"], "url_not_allowed", reason)] if reason else []


def _unknown(subscription_id: str) -> ApiError:
    return ApiError.single(
        404,
        "unknown_subscription",
        f"no subscription {subscription_id!r}",
        loc=["path", "subscription_id"],
    )


@router.post(
    "",
    status_code=201,
    responses=_ERRORS | error_responses(408, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline_schema(SubscriptionRequest)}},
        }
    },
)
async def create_subscription(
    request: Request,
    ctx: Annotated[IngestContext, Depends(context)],
    subscriptions: Store,
    _: Admin,
) -> JSONResponse:
    wanted = await json_body(request, SubscriptionRequest, "the subscription")
    errors = _check_filters(ctx, wanted) + await _check_url(ctx, wanted)
    if errors:
        raise ApiError(422, errors)
    subscription = Subscription(
        **wanted.model_dump(), id=f"sub_{uuid.uuid4().hex}", created_at=ctx.clock.now()
    )
    await subscriptions.create(subscription)
    return JSONResponse(
        subscription.public(),
        status_code=201,
        headers={"Location": f"/v1/subscriptions/{subscription.id}"},
    )


@router.get("", responses=_ERRORS)
async def list_subscriptions(subscriptions: Store, _: Admin) -> dict[str, Any]:
    return {"subscriptions": [s.public() for s in await subscriptions.all()]}


@router.delete("/{subscription_id}", status_code=204, responses=_ERRORS)
async def delete_subscription(
    subscription_id: str, subscriptions: Store, queue: DeliveryQueue, _: Admin
) -> Response:
    if not await subscriptions.delete(subscription_id):
        raise _unknown(subscription_id)
    # After the subscription is gone: a worker that takes one of its deliveries in between finds
    # no subscription and dead-letters it, as the ended ones will be.
    await queue.end_for_subscription(subscription_id)
    return Response(status_code=204)


@router.get("/{subscription_id}/deliveries", responses=_ERRORS)
async def list_deliveries(
    subscription_id: str,
    subscriptions: Store,
    queue: DeliveryQueue,
    _: Admin,
    limit: Annotated[int, Query(ge=1, le=HISTORY_CAP)] = HISTORY_CAP,
) -> dict[str, Any]:
    if await subscriptions.get(subscription_id) is None:
        raise _unknown(subscription_id)
    records = await queue.recent(subscription_id, limit)
    return {"deliveries": [record.public() for record in records]}
