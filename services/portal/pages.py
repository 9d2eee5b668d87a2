"""The pages to read: sign in and out, the language switch, the province, a city, a report, and
the empty forms to download."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.portal.api import NotFoundError, SignedOutError
from services.portal.charts import site_chart
from services.portal.history import HistoryMonth, read_history
from services.portal.security import LANGUAGE_COOKIE, SESSION_COOKIE
from services.portal.web import (
    LANGUAGE_COOKIE_MAX_AGE_S,
    Portal,
    local_path,
    redirect,
)
from shared.domain.state import ReportKind
from shared.domain.targets import GigabitProgram
from shared.report_files.templates import TEMPLATE_FORMATS, template_bytes, template_filename

RECENT_REPORTS = 12
OVERDUE = "ReportOverdue"
"""Listed in the province table's overdue column rather than among the other alerts."""
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def routes(portal: Portal) -> list[Route]:
    async def home(request: Request) -> Response:
        return redirect("/province" if portal.session(request) else "/signin")

    async def signin_page(request: Request) -> Response:
        if portal.session(request):
            return redirect("/province")
        return portal.render(request, "signin.html")

    async def signin(request: Request) -> Response:
        form = await portal.form(request)
        address = request.client.host if request.client else ""
        if portal.sign_ins.blocked(address):
            return portal.render(request, "signin.html", status=429, throttled=True)
        token = str(form.get("token") or "").strip()
        try:
            me = await portal.api.me(token) if token else None
        except SignedOutError:
            me = None
        if me is None:
            portal.sign_ins.failed(address)
            return portal.render(request, "signin.html", status=401, failed=True)
        portal.sessions.drop(request.cookies.get(SESSION_COOKIE))  # never reuse a session id
        response = redirect("/province")
        portal.set_cookie(response, SESSION_COOKIE, portal.sessions.create(token, me))
        return response

    async def signout(request: Request) -> Response:
        await portal.form(request)
        portal.sessions.drop(request.cookies.get(SESSION_COOKIE))
        response = redirect("/signin")
        portal.clear_cookie(response, SESSION_COOKIE)
        return response

    async def language(request: Request) -> Response:
        form = await portal.form(request)
        chosen = "en" if form.get("language") == "en" else "zh"
        response = redirect(local_path(form.get("next"), "/"))
        portal.set_cookie(response, LANGUAGE_COOKIE, chosen, max_age=LANGUAGE_COOKIE_MAX_AGE_S)
        return response

    async def province(request: Request) -> Response:
        session = portal.signed_in(request)
        progress, alerts = await asyncio.gather(
            portal.api.progress(session.token), portal.api.alerts(session.token)
        )
        programs = list(progress["province"]["programs"])
        unverified_programs = {
            program
            for city in progress["cities"].values()
            for program, shown in city["programs"].items()
            if shown.get("baseline_verified") is False
        }
        return portal.render(
            request,
            "province.html",
            progress=progress,
            programs=programs,
            unverified_programs=unverified_programs,
            alerts=_worst_first([a for a in alerts if a["labels"].get("alertname") != OVERDUE]),
            overdue_alerts=sum(1 for a in alerts if a["labels"].get("alertname") == OVERDUE),
            alerts_by_city=_alerts_by_city(alerts),
            gigabit=portal.targets.gigabit_programs,
            site_programs={p.id: p for p in portal.targets.site_programs},
            baselines_verified=portal.targets.baselines_verified,
        )

    async def city(request: Request) -> Response:
        session = portal.signed_in(request)
        city_id = request.path_params["city"]
        if city_id not in portal.targets.cities:
            raise NotFoundError()
        t = portal.translator(request)
        program_ids = [p.id for p in portal.targets.programs]
        progress, alerts, reports, *histories = await asyncio.gather(
            portal.api.city_progress(session.token, city_id),
            portal.api.alerts(session.token),
            portal.api.reports(session.token, city_id, RECENT_REPORTS),
            *(portal.api.city_history(session.token, city_id, p) for p in program_ids),
        )
        history = {p: read_history(h) for p, h in zip(program_ids, histories, strict=True)}
        charts = {}
        for program in portal.targets.site_programs:
            shown = progress["programs"].get(program.id, {})
            charts[program.id] = site_chart(
                history[program.id],
                program.start.strftime("%Y-%m"),
                program.deadline.strftime("%Y-%m"),
                shown.get("target"),
                t.month,
                t.number,
            )
        return portal.render(
            request,
            "city.html",
            city=portal.targets.cities[city_id],
            progress=progress,
            history=history,
            charts=charts,
            calendars=_calendars(portal, history),
            reports=reports,
            alerts=_worst_first([a for a in alerts if a.get("labels", {}).get("city") == city_id]),
            gigabit=portal.targets.gigabit_programs,
            site_programs=portal.targets.site_programs,
        )

    async def report(request: Request) -> Response:
        session = portal.signed_in(request)
        city_id, report_id = request.path_params["city"], request.path_params["report_id"]
        if city_id not in portal.targets.cities:
            raise NotFoundError()
        record = await portal.api.report(session.token, city_id, report_id)
        if record is None:
            raise NotFoundError()
        return portal.render(
            request, "report.html", city=portal.targets.cities[city_id], record=record
        )

    async def template(request: Request) -> Response:
        portal.signed_in(request)
        kind, file_format = request.path_params["kind"], request.path_params["format"]
        if (
            kind not in (ReportKind.SITES, ReportKind.GIGABIT)
            or file_format not in TEMPLATE_FORMATS
        ):
            raise NotFoundError()
        language = portal.language(request)
        name = template_filename(ReportKind(kind), language, file_format)
        return Response(
            template_bytes(ReportKind(kind), language, file_format),
            media_type=CONTENT_TYPES[file_format],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return [
        Route("/", home, methods=["GET"]),
        Route("/signin", signin_page, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/language", language, methods=["POST"]),
        Route("/province", province, methods=["GET"]),
        Route("/cities/{city}", city, methods=["GET"]),
        Route("/cities/{city}/reports/{report_id}", report, methods=["GET"]),
        Route("/templates/{kind}.{format}", template, methods=["GET"]),
    ]


def _worst_first(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def rank(alert: dict[str, Any]) -> tuple[int, str, str]:
        labels = alert.get("labels", {})
        severity = 0 if labels.get("severity") == "critical" else 1
        return severity, str(labels.get("alertname")), str(labels.get("city", ""))

    return sorted(alerts, key=rank)


def _alerts_by_city(alerts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        found.setdefault(alert.get("labels", {}).get("city") or "", []).append(alert)
    return found


def _calendars(portal: Portal, history: dict[str, list[HistoryMonth]]) -> dict[str, Any]:
    """Per report kind, the months of the longest programme it feeds, by year: the reporting
    calendar (on time / late / missing) as the history states it."""
    calendars: dict[str, Any] = {}
    for program in sorted(portal.targets.programs, key=lambda p: p.deadline, reverse=True):
        kind = str(ReportKind.GIGABIT if isinstance(program, GigabitProgram) else ReportKind.SITES)
        if kind in calendars or not history.get(program.id):
            continue
        years: dict[str, list[HistoryMonth | None]] = {}
        for month in history[program.id]:
            year, number = month.month.split("-")
            row = years.setdefault(year, [None] * 12)
            row[int(number) - 1] = month
        calendars[kind] = years
    return calendars
