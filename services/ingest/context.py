"""What every ingest route needs, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from redis.asyncio import Redis

from services.ingest.auth import Principal, TokenBook
from services.ingest.errors import ApiError
from services.ingest.store import ReportStore
from shared.clock import Clock
from shared.domain.targets import Targets


@dataclass(frozen=True)
class IngestContext:
    targets: Targets
    clock: Clock
    tokens: TokenBook
    store: ReportStore
    redis: Redis


def context(request: Request) -> IngestContext:
    ctx: IngestContext = request.app.state.ctx
    return ctx


def principal(request: Request) -> Principal:
    return context(request).tokens.authenticate(request.headers.get("authorization"))


def known_city(ctx: IngestContext, city: str) -> str:
    if city in ctx.targets.cities:
        return city
    retired = ctx.targets.retired_cities.get(city)
    message = f"{city!r} is not a city of the province" + (f" ({retired})" if retired else "")
    raise ApiError.single(404, "unknown_city", message, loc=["path", "city"])
