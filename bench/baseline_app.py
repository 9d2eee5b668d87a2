"""The ingest benchmark's baseline: the least an HTTP service can do with a report.

A bare Starlette route on uvicorn (run exactly as Pacer's services run it) that parses the body
with pydantic models of the report's shape (types only: no auth, no checks against the clock or
stored state, no idempotency) and XADDs it to a Redis stream. Pacer should reach 0.8x its rate.

    python -m bench.baseline_app --port 8100 --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from datetime import date
from typing import Literal

import uvicorn
from pydantic import BaseModel, ConfigDict, ValidationError
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

STREAM = "bench:baseline:reports"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BaselineSite(_Strict):
    site_id: str
    operator: Literal["china_mobile", "china_unicom", "china_telecom", "china_broadnet"]
    status: Literal["in_service", "decommissioned"]
    commissioned_on: date
    lat: float
    lon: float
    district: str | None = None
    band: str | None = None


class BaselineSitesReport(_Strict):
    report_id: str | None = None
    period: str
    as_of: date
    sites: list[BaselineSite]


class BaselineGigabitReport(_Strict):
    report_id: str | None = None
    period: str
    as_of: date
    indicators: dict[str, float]


MODELS: dict[str, type[BaselineSitesReport] | type[BaselineGigabitReport]] = {
    "5g-sites": BaselineSitesReport,
    "gigabit": BaselineGigabitReport,
}


def create_app(redis_url: str) -> Starlette:
    redis = Redis.from_url(redis_url)

    async def submit(request: Request) -> JSONResponse:
        model = MODELS.get(request.path_params["kind"])
        if model is None:
            return JSONResponse({"error": "unknown kind"}, status_code=404)
        try:
            report = model.model_validate_json(await request.body())
        except ValidationError as exc:
            return JSONResponse({"errors": exc.errors(include_url=False)}, status_code=422)
        payload = report.model_dump_json()
        await redis.xadd(STREAM, {"city": request.path_params["city"], "payload": payload})
        return JSONResponse({"report_id": report.report_id, "status": "accepted"}, status_code=202)

    async def ready(_: Request) -> PlainTextResponse:
        await redis.ping()
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await redis.aclose()

    return Starlette(
        routes=[
            Route("/v1/cities/{city}/reports/{kind}", submit, methods=["POST"]),
            Route("/readyz", ready),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline_app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    args = parser.parse_args()
    # The same uvicorn settings as shared.serving.serve_http, so only the app differs.
    uvicorn.run(
        create_app(args.redis_url),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        timeout_graceful_shutdown=5,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
