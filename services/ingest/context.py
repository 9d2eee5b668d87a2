"""What every ingest route needs, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from fastapi import Request
from starlette.types import Scope

from services.ingest.auth import Principal, TokenBook
from services.ingest.errors import ApiError
from services.ingest.province_progress import shared_province_progress
from shared.clock import Clock
from shared.domain.targets import Targets
from shared.shared_read import SharedRead
from shared.store.client import StoreClient
from shared.store.reports import ReportIntake
from shared.webhook_policy import AllowList


@dataclass(frozen=True)
class IngestContext:
    targets: Targets
    clock: Clock
    tokens: TokenBook
    store: ReportIntake
    redis: StoreClient
    webhook_allow: AllowList = field(default_factory=AllowList)
    """Internal webhook destinations allowed anyway (``PACER_WEBHOOK_ALLOWED_HOSTS``)."""

    @cached_property
    def province_progress(self) -> SharedRead[bytes]:
        """``GET /v1/progress``, one computation shared by the readers of the same second."""
        return shared_province_progress(self.redis, self.targets, self.clock)


def context(request: Request) -> IngestContext:
    ctx: IngestContext = request.app.state.ctx
    return ctx


_PRINCIPAL = "pacer.principal"
"""The scope key of a request's authenticated caller, when the rate limiter already knows it."""


def remember_principal(scope: Scope, who: Principal) -> None:
    """Records who the gateway authenticated, so the route does not hash the token again."""
    scope[_PRINCIPAL] = who


def authenticated(request: Request) -> Principal:
    """The request's caller, or a 401."""
    who: Principal | None = request.scope.get(_PRINCIPAL)
    if who is None:
        who = context(request).tokens.authenticate(request.headers.get("authorization"))
    return who


async def principal(request: Request) -> Principal:
    # async although it awaits nothing: FastAPI runs a plain-def dependency in its thread pool,
    # and that hop on every request (the GIL handed to a worker thread and back) cost 13 % more
    # CPU per report and more of the rate (bench/NOTES-ingest-latency.md).
    return authenticated(request)


def known_city(ctx: IngestContext, city: str) -> str:
    if city in ctx.targets.cities:
        return city
    raise ApiError.single(404, "unknown_city", not_a_city(ctx, city), loc=["path", "city"])


def not_a_city(ctx: IngestContext, city: str) -> str:
    """Why ``city`` is refused: not a city of the province (and why not, if it was retired)."""
    retired = ctx.targets.retired_cities.get(city)
    return f"{city!r} is not a city of the province" + (f" ({retired})" if retired else "")
