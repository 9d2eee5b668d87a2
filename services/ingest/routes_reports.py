"""``POST /v1/cities/{city}/reports/{kind}`` (the reads: ``routes_report_reads``)."""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from services.ingest import routes_report_reads, routes_sites
from services.ingest.auth import Principal, forbidden
from services.ingest.context import (
    authenticated,
    context,
    known_city,
    principal,
)
from services.ingest.errors import (
    SITES_UPGRADING,
    ApiError,
    ErrorList,
    ErrorsBody,
    backlog_full,
    error_responses,
    from_pydantic,
    replication_unconfirmed,
)
from services.ingest.observability import request_metrics
from services.ingest.validation import check_report, json_body
from shared.domain.state import ReportKind
from shared.logs import report_label
from shared.store.reports import SiteCheck
from shared.wire import (
    REPORT_MODELS,
    GigabitReport,
    Report,
    ReportEnvelope,
    ReportId,
    SitesReport,
    encode_submission,
    site_elsewhere_message,
    site_limit_message,
)

log = logging.getLogger("pacer.ingest")
router = APIRouter(prefix="/v1")
_REPORT_ID: TypeAdapter[str] = TypeAdapter(ReportId)
_DRY_RUN: TypeAdapter[bool] = TypeAdapter(bool)
_ANSWER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
"""Renders as JSONResponse does (the same bytes), built once rather than per answer."""
_ERRORS_SCHEMA: dict[str, Any] = {
    "model": ErrorsBody,
    "description": "The report was rejected whole; nothing was stored.",
}


def _submit_doc(model: type[SitesReport] | type[GigabitReport]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
    }


def _report_id(report: Report, idempotency_key: str | None) -> str:
    if idempotency_key is not None:
        if report.report_id is not None and report.report_id != idempotency_key:
            raise ApiError.single(
                422,
                "report_id_mismatch",
                "the Idempotency-Key header and body report_id differ",
                loc=["header", "Idempotency-Key"],
            )
        try:
            return _REPORT_ID.validate_python(idempotency_key)
        except ValidationError as exc:
            raise from_pydantic(exc, prefix=("header", "Idempotency-Key")) from exc
    return report.report_id or f"srv-{uuid.uuid4().hex}"


async def _submit(
    request: Request,
    city: str,
    kind: ReportKind,
    who: Principal,
    dry_run: bool,
    idempotency_key: str | None,
) -> Response:
    ctx = context(request)
    known_city(ctx, city)
    if not who.may_write(city):
        raise forbidden(f"{who.name} ({who.role}) may not write reports for {city}")
    report = await json_body(request, REPORT_MODELS[kind], "the report")
    report_id = _report_id(report, idempotency_key)
    now = ctx.clock.now()
    errors = check_report(report, now, ctx.targets, city)
    site_ids = [s.site_id for s in report.sites] if isinstance(report, SitesReport) else []
    if errors or dry_run:
        # The accept script checks the sites of a report it may store (one round trip); a
        # report already refused, or only previewed, runs its check alone, so its 422 lists
        # every error, the sites' last, as it always has.
        _add_site_errors(errors, site_ids, await ctx.store.check_sites(city, site_ids), who)
        if errors:
            raise ApiError(422, errors)
    if dry_run:
        summary = await ctx.store.preview(city, report)
        return _answer(
            {
                "report_id": report_id,
                "status": "valid",
                "dry_run": True,
                "summary": summary.model_dump(),
            }
        )
    payload, fingerprint = encode_submission(city, kind, report)
    envelope = ReportEnvelope(report_id, city, kind, now, payload)
    outcome = await ctx.store.accept(envelope, fingerprint, site_ids)
    if outcome.result == "upgrading":
        raise SITES_UPGRADING
    if outcome.result == "refused":
        raise ApiError(422, _add_site_errors(ErrorList(), site_ids, outcome.sites, who))
    if outcome.result == "backpressure":
        request_metrics(request).backpressure_rejections.inc()
        raise backlog_full(outcome.backlog, ctx.store.max_backlog)
    if outcome.result == "unreplicated":
        request_metrics(request).unreplicated_rejections.inc()
        quorum = ctx.store.quorum
        raise replication_unconfirmed(quorum.replicas, quorum.timeout_ms)
    if outcome.result == "conflict":
        raise ApiError.single(
            409,
            "report_id_conflict",
            f"report {report_id} was already submitted with a different body",
            loc=["body", "report_id"],
        )
    status_code, status = (202, "accepted") if outcome.result == "accepted" else (200, "duplicate")
    log.info(
        "%s %s report from %s (sites: %d)",
        status,
        kind,
        who.name,
        len(site_ids),
        extra={"report": report_label(city, report_id)},
    )
    return _answer(
        {"report_id": report_id, "status": status, "received_at": outcome.received_at.isoformat()},
        status_code=status_code,
        headers={"Location": f"/v1/cities/{city}/reports/{report_id}"},
    )


def _add_site_errors(
    errors: ErrorList, site_ids: list[str], check: SiteCheck, who: Principal
) -> ErrorList:
    """The sites held by other cities (named to admin and viewer tokens only), then the city's
    ceiling if the report would take it over. Up to 10,000 sites may be held elsewhere: only the
    listed ones get a message."""
    for index, owner in check.elsewhere:
        named = owner if who.sees_site_owners else None
        errors.add(
            ["body", "sites", index, "site_id"],
            "site_registered_elsewhere",
            functools.partial(site_elsewhere_message, site_ids[index], named),
        )
    if check.over_limit:
        errors.add(
            ["body", "sites"],
            "site_limit_exceeded",
            site_limit_message(check.unregistered, check.registered, check.limit),
        )
    return errors


def _answer(
    content: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = _ANSWER.encode(content).encode()
    return Response(body, status_code, headers, media_type="application/json")


DryRun = Annotated[bool, Query(description="validate and preview only; nothing is stored")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def _submit_route(kind: ReportKind) -> Callable[..., Awaitable[Response]]:
    # The signature documents the route (OpenAPI); _SubmitRoute reads the values itself.
    async def submit(
        request: Request,
        city: str,
        who: Annotated[Principal, Depends(principal)],
        dry_run: DryRun = False,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        return await _submit(request, city, kind, who, dry_run, idempotency_key)

    return submit


class _SubmitRoute(APIRoute):
    """The hot route, documented by FastAPI from its endpoint's signature like any other, but
    served without FastAPI's dependency solving per request (11-14 % of a report's CPU;
    bench/NOTES-ingest-latency.md): it reads its token, ``dry_run`` and ``Idempotency-Key``
    itself, in the same order and with the same errors (401, then 422 at ``query.dry_run``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        submit = self.endpoint

        async def handle(request: Request) -> Response:
            who = authenticated(request)
            dry_run = _dry_run(request)
            idempotency_key = request.headers.get("idempotency-key")
            response: Response = await submit(
                request, request.path_params["city"], who, dry_run, idempotency_key
            )
            return response

        return handle


class SubmitLane:
    """The two submit routes, served straight from the ``Gateway``.

    Through the app, a report passed thirteen more ASGI layers of FastAPI's and Starlette's
    (exception handling twice, exit stacks, three routers, the route's own wrappers) and every
    message of its answer two more wrappers: about a tenth of a small report's CPU
    (bench/NOTES-ingest-latency.md). What those layers did for these routes is done here: the
    route and its path parameters in the scope (the request metrics label by the route), and the
    app's exception handlers for what the handler raises (``errors.install_error_handlers``; an
    exception without one propagates, to the app's 500). A request the lane does not serve
    exactly (another method, a path it does not match, an app mounted under a root path) takes
    the app's way, and its answers (405, 404) stay the router's."""

    _PREFIX = "/v1/cities/"

    def __init__(self, exception_handlers: Mapping[Any, Callable[..., Any]]) -> None:
        """``exception_handlers``: the app's, by exception class (read when one is raised)."""
        self._exception_handlers = exception_handlers
        self._routes = {
            route.path.removeprefix(self._PREFIX + "{city}/"): (route, route.get_route_handler())
            for route in router.routes
            if isinstance(route, _SubmitRoute)
        }

    def route(self, scope: Scope) -> ASGIApp | None:
        """The app for this request if the lane serves it, else None."""
        path: str = scope["path"]
        if scope["method"] != "POST" or scope.get("root_path") or not path.startswith(self._PREFIX):
            return None
        city, _, rest = path[len(self._PREFIX) :].partition("/")
        found = self._routes.get(rest)
        if found is None or not city:
            return None
        route, handle = found

        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            scope["route"], scope["endpoint"] = route, route.endpoint
            scope["path_params"] = {"city": city}
            request = Request(scope, receive, send)
            try:
                response = await handle(request)
            except Exception as exc:
                on_error = self._on_error(exc)
                if on_error is None:
                    raise
                response = await on_error(request, exc)
                exc.__traceback__ = None  # the module's own ApiErrors are raised again and again
            await response(scope, receive, send)

        return serve

    def _on_error(self, exc: Exception) -> Callable[..., Awaitable[Response]] | None:
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None  # the app's 500, as through the app
            if cls in self._exception_handlers:
                return self._exception_handlers[cls]
        return None


def _dry_run(request: Request) -> bool:
    if not request.scope["query_string"]:
        return False
    value = request.query_params.get("dry_run")
    if value is None:
        return False
    try:
        return _DRY_RUN.validate_python(value)
    except ValidationError as exc:
        raise from_pydantic(exc, prefix=("query", "dry_run")) from exc


for _kind, _model in REPORT_MODELS.items():
    router.add_api_route(
        f"/cities/{{city}}/reports/{_kind}",
        _submit_route(_kind),
        methods=["POST"],
        route_class_override=_SubmitRoute,
        name=f"submit_{_kind.name.lower()}_report",
        status_code=202,
        openapi_extra=_submit_doc(_model),
        responses={
            200: {"description": "duplicate, or the preview of a dry run"},
            **error_responses(403, 404, 408, 413, 415),
            409: _ERRORS_SCHEMA,
            422: _ERRORS_SCHEMA,
        },
    )


# The reads of the records and the site registry's one route ride on this router, so the app
# includes the reports' routes as one.
router.include_router(routes_report_reads.router)
router.include_router(routes_sites.router)
