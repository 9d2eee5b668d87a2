"""The API's one error shape: ``{"errors": [{"loc": [...], "code": "...", "message": "..."}]}``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import compile_path

from shared.store.client import StoreUnavailable
from shared.store.sites import SitesStoreUpgradingError
from shared.wire import explain, in_column_order

Loc = Sequence[str | int]

MAX_ERRORS = 100
"""contract section 3: an error list holds at most this many entries; when there are more, the
last one (code ``too_many_errors``) says how many there were."""


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


class ErrorList:
    """The problems of one request, in the order found: the first ones described, the rest only
    counted.

    A refused request's cost must follow its size, never the number of its problems times the
    cost of describing one: a check that may find thousands asks ``describing`` (or passes
    ``add`` a function) before it builds a message.
    """

    def __init__(self, items: Iterable[ErrorItem] = ()) -> None:
        self._items: list[ErrorItem] = []
        self._counted_only = False
        self.total = 0
        self.extend(items)

    @property
    def describing(self) -> bool:
        """Whether the next problem would still be listed with its message."""
        return not self._counted_only and len(self._items) < MAX_ERRORS

    def add(self, loc: Loc, code: str, message: str | Callable[[], str]) -> None:
        """One problem; ``message`` may be a function, called only if the problem is listed."""
        self.total += 1
        if self.describing:
            text = message if isinstance(message, str) else message()
            self._items.append(ErrorItem(loc, code, text))

    def extend(self, items: Iterable[ErrorItem]) -> None:
        for item in items:
            self.total += 1
            if self.describing:
                self._items.append(item)

    def count(self, problems: int) -> None:
        """Problems known to exist without their details (a parser counted them): nothing found
        after them is described either, so the listed ones stay the first."""
        if problems > 0:
            self.total += problems
            self._counted_only = True

    def __iadd__(self, items: Iterable[ErrorItem]) -> ErrorList:
        self.extend(items)
        return self

    def __bool__(self) -> bool:
        return self.total > 0

    def __len__(self) -> int:
        return self.total

    def listed(self) -> list[ErrorItem]:
        """At most ``MAX_ERRORS`` entries; if there were more problems, the last entry is
        ``too_many_errors`` with their number."""
        if self.total == len(self._items):
            return list(self._items)
        shown = self._items[: MAX_ERRORS - 1]
        summary = ErrorItem(
            ["body"],
            "too_many_errors",
            f"{self.total:,} errors in all, the first {len(shown)} listed; nothing was stored",
        )
        return [*shown, summary]


class ApiError(Exception):
    """Raised anywhere in a request; rendered as the contract's error body with ``status``."""

    def __init__(
        self,
        status: int,
        errors: ErrorList | Iterable[ErrorItem],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.errors = (errors if isinstance(errors, ErrorList) else ErrorList(errors)).listed()
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


def add_pydantic(
    errors: ErrorList,
    exc: ValidationError,
    prefix: Loc = ("body",),
    at: Callable[[tuple[str | int, ...]], Loc] = tuple,
) -> None:
    """Adds the problems pydantic found, each ``loc`` rooted at ``prefix`` (``at`` may move it);
    once ``errors`` is full they are only counted (``exc.errors()`` builds every one)."""
    if not errors.describing:
        errors.count(exc.error_count())
        return
    for error in in_column_order(exc.errors(include_url=False)):
        loc = [*prefix, *at(error["loc"])]
        clearer = explain(error)
        code, message = clearer if clearer else (error["type"], error["msg"])
        errors.add(loc, code, message)


def from_pydantic(exc: ValidationError, prefix: Loc = ("body",)) -> ApiError:
    """A 422 listing the problems pydantic found, each ``loc`` rooted at ``prefix``."""
    errors = ErrorList()
    add_pydantic(errors, exc, prefix)
    return ApiError(422, errors)


REDIS_DOWN = ApiError.single(
    503,
    "storage_unavailable",
    "Pacer's store is unavailable; nothing was stored. Retry with the same report_id.",
    headers={"Retry-After": "1"},
)

SITES_UPGRADING = ApiError.single(
    503,
    "sites_store_upgrading",
    "Pacer's store of 5G sites is being upgraded (pacer migrate); nothing was stored. Retry "
    "with the same report_id after Retry-After seconds.",
    headers={"Retry-After": "5"},
)
"""While ``pacer migrate`` moves the sites (a national store in about a minute), 5G-site
reports, their dry runs and site releases are refused; gigabit reports and every read go on."""

BACKLOG_RETRY_AFTER_S = 5
"""Seconds a client refused for backpressure waits: time for the aggregator to work off some
hundreds of small reports (over 100 a second measured), and a refused retry costs one script."""


def backlog_full(backlog: int, bound: int) -> ApiError:
    """503 for a report refused because too many wait to be applied (see PACER_MAX_BACKLOG)."""
    return ApiError.single(
        503,
        "backlog_full",
        f"{backlog} reports are waiting to be applied (limit {bound}); nothing was stored. "
        "Retry with the same report_id after Retry-After seconds.",
        headers={"Retry-After": str(BACKLOG_RETRY_AFTER_S)},
    )


def replication_unconfirmed(replicas: int, timeout_ms: int) -> ApiError:
    """503 for a report the primary stored but fewer than ``replicas`` replicas confirmed within
    ``timeout_ms`` (``PACER_REDIS_MIN_REPLICAS``): a failover now could lose it, so it is not
    acknowledged. The retry with the same id is answered ``200 duplicate`` once the replicas
    hold it, or ``202`` if the primary was lost with it."""
    return ApiError.single(
        503,
        "replication_unconfirmed",
        f"fewer than {replicas} replica(s) confirmed the report within {timeout_ms} ms, so it is "
        "not acknowledged yet. Retry with the same report_id after Retry-After seconds: it is "
        "then answered duplicate if it was kept, or stored anew.",
        headers={"Retry-After": "1"},
    )


_MEANINGS = {
    401: "No bearer token, or one Pacer does not know.",
    403: "The token's role or city may not do this.",
    404: "No such city, report or subscription.",
    408: "The body did not arrive in time; nothing was stored.",
    409: "The report_id was already used for a different body; nothing was stored.",
    413: "The body exceeds PACER_MAX_BODY_BYTES; nothing was stored.",
    415: "The body is not application/json.",
    422: "The request was rejected whole, every problem listed with its loc; nothing was stored.",
    429: "Too many requests for this token; retry after Retry-After seconds.",
    503: "Pacer cannot store now (its store is down, too many reports wait to be applied, or "
    "its replicas did not confirm the report in time); nothing was acknowledged. Retry with the "
    "same report_id after Retry-After seconds.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=``: the error body under each status it can really answer."""
    return {status: {"model": ErrorsBody, "description": _MEANINGS[status]} for status in statuses}


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

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # The router names only the methods of the first route on the path (GET and POST
            # /v1/subscriptions are two routes); Allow must list every method of the resource.
            allowed = _documented_methods(app, request.url.path)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        if exc.status_code == 404:
            # The router's: no route has this path. A trailing slash is not redirected away
            # (app.py: Starlette's redirect reflected the Host header); say so instead.
            slash = request.url.path.endswith("/") and request.url.path != "/"
            hint = "; Pacer's paths have no trailing slash" if slash else ""
            item = ErrorItem(["path"], code, f"no such path{hint}")
            return error_response(404, [item], headers)
        return error_response(exc.status_code, [ErrorItem([], code, str(exc.detail))], headers)

    async def on_redis_down(_: Request, __: Exception) -> JSONResponse:
        return error_response(REDIS_DOWN.status, REDIS_DOWN.errors, REDIS_DOWN.headers)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for unavailable in StoreUnavailable:
        app.add_exception_handler(unavailable, on_redis_down)

    async def on_sites_upgrading(_: Request, __: Exception) -> JSONResponse:
        return error_response(
            SITES_UPGRADING.status, SITES_UPGRADING.errors, SITES_UPGRADING.headers
        )

    app.add_exception_handler(SitesStoreUpgradingError, on_sites_upgrading)


def _documented_methods(app: FastAPI, path: str) -> list[str]:
    for template, operations in app.openapi().get("paths", {}).items():
        if compile_path(template)[0].match(path):
            return sorted(method.upper() for method in operations)
    return []
