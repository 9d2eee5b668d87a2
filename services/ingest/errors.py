"""The API's one error shape: ``{"errors": [{"loc": [...], "code": "...", "message": "..."}]}``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

Loc = Sequence[str | int]


class ErrorBody(BaseModel):
    loc: list[str | int]
    code: str
    message: str


class ErrorsBody(BaseModel):
    """Every error response: one item per problem, ``loc`` pointing at the field or row."""

    errors: list[ErrorBody]


@dataclass(frozen=True)
class ErrorItem:
    loc: Loc
    code: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "code": self.code, "message": self.message}


class ApiError(Exception):
    """Raised anywhere in a request; rendered as the contract's error body with ``status``."""

    def __init__(
        self, status: int, errors: Iterable[ErrorItem], headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.errors = list(errors)
        self.headers = headers or {}
        super().__init__(f"{status}: {[e.code for e in self.errors]}")

    @classmethod
    def single(
        cls,
        status: int,
        code: str,
        message: str,
        loc: Loc = (),
        headers: dict[str, str] | None = None,
    ) -> ApiError:
        return cls(status, [ErrorItem(loc, code, message)], headers)


def error_response(
    status: int, errors: Iterable[ErrorItem], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"errors": [e.as_json() for e in errors]}, status_code=status, headers=headers
    )


def from_pydantic(exc: ValidationError, prefix: Loc = ("body",)) -> ApiError:
    """A 422 listing every problem pydantic found, each ``loc`` rooted at ``prefix``."""
    return ApiError(
        422,
        [
            ErrorItem([*prefix, *error["loc"]], error["type"], error["msg"])
            for error in exc.errors(include_url=False)
        ],
    )


REDIS_DOWN = ApiError.single(
    503,
    "storage_unavailable",
    "Pacer's store is unavailable; nothing was stored. Retry with the same report_id.",
    headers={"Retry-After": "1"},
)

_HTTP_CODES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.errors, exc.headers)

    async def on_request_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        items = [ErrorItem(list(e["loc"]), e["type"], e["msg"]) for e in exc.errors()]
        return error_response(422, items)

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, [ErrorItem([], code, str(exc.detail))], exc.headers)

    async def on_redis_down(_: Request, __: Exception) -> JSONResponse:
        return error_response(REDIS_DOWN.status, REDIS_DOWN.errors, REDIS_DOWN.headers)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RedisConnectionError, on_redis_down)
    app.add_exception_handler(RedisTimeoutError, on_redis_down)
