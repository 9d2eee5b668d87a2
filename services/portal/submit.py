"""Submitting a file: upload it, see the dry run (counts and every error at its row and column),
submit, and follow each report until it is applied or rejected. The file is read exactly as
``pacer submit`` reads it (shared.report_files)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.portal.api import NotFoundError
from services.portal.messages import N_
from services.portal.sessions import Session
from services.portal.web import ForbiddenPageError, Portal, redirect
from shared.domain.calendar import local_date
from shared.domain.state import ReportKind
from shared.report_files.batches import Batch, BatchError
from shared.report_files.prepare import prepare_reports
from shared.report_files.readers import InputError, SourceFile
from shared.report_files.rows import RowError
from shared.wire import ReportSummary, Site

PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
FOLLOW_REFRESH_S = 1
PREVIEW_ROWS = 10


@dataclass
class Outcome:
    """One report of an upload: what the dry run found, then what became of it."""

    batch: Batch
    errors: list[RowError] = field(default_factory=list)
    summary: ReportSummary | None = None
    status: str = "checked"
    """checked | accepted | duplicate | applied | rejected"""


@dataclass
class Upload:
    city: str
    kind: ReportKind
    period: str
    as_of: str
    filename: str
    outcomes: list[Outcome]

    @property
    def errors(self) -> list[RowError]:
        found = [error for outcome in self.outcomes for error in outcome.errors]
        return sorted(found, key=lambda e: (e.row or 0, e.column or ""))

    @property
    def rows(self) -> int:
        return sum(o.batch.rows_in_file for o in self.outcomes)

    def total(self, key: str) -> int:
        return sum(getattr(o.summary, key) for o in self.outcomes if o.summary)

    def preview(self) -> tuple[list[tuple[str, str]], list[list[str]]]:
        """The columns (API field, as the file names it) and the first rows as Pacer will
        receive them: a person sees that 纬度 was read as the latitude, 2024/6/3 as a date."""
        if not self.outcomes:
            return [], []
        batch = self.outcomes[0].batch
        if self.kind is ReportKind.GIGABIT:
            indicators = batch.body["indicators"]
            rows = [[batch.columns.get(k, k), f"{v:g}"] for k, v in indicators.items()]
            return [("indicator", "indicator"), ("value", "value")], rows[:PREVIEW_ROWS]
        sites = batch.body["sites"][:PREVIEW_ROWS]
        fields = [name for name in Site.COLUMNS if any(name in site for site in sites)]
        columns = [(name, batch.columns.get(name, name)) for name in fields]
        return columns, [[str(site.get(name, "")) for name in fields] for site in sites]

    @property
    def following(self) -> bool:
        return any(o.status in ("accepted", "duplicate") for o in self.outcomes)


def _default_period(portal: Portal) -> tuple[str, str]:
    """Last month and its last day: the report a city files in the first days of a month."""
    first_of_month = local_date(portal.clock.now()).replace(day=1)
    last_day = first_of_month - timedelta(days=1)
    return last_day.strftime("%Y-%m"), last_day.isoformat()


def _may_submit(session: Session) -> Session:
    if not session.may_submit:
        raise ForbiddenPageError()
    return session


def routes(portal: Portal) -> list[Route]:
    def form_page(request: Request, session: Session, status: int = 200, **values: Any) -> Response:
        period, as_of = _default_period(portal)
        chosen = {"kind": "5g-sites", "city": session.city or "jinan", "period": period,
                  "as_of": as_of} | values  # fmt: skip
        return portal.render(request, "submit.html", status=status, chosen=chosen)

    async def show_form(request: Request) -> Response:
        return form_page(request, _may_submit(portal.signed_in(request)))

    async def check(request: Request) -> Response:
        session = _may_submit(portal.signed_in(request))
        form = await portal.form(request)
        kind = str(form.get("kind") or "")
        city = str(form.get("city") or "") if session.role == "admin" else session.city or ""
        period, as_of = str(form.get("period") or ""), str(form.get("as_of") or "")
        upload = form.get("file")
        values = {"kind": kind, "city": city, "period": period, "as_of": as_of}
        problem = _form_problem(portal, session, values, upload)
        if problem:
            return form_page(request, session, 422, problem=problem, **values)
        assert isinstance(upload, UploadFile)
        source = SourceFile(upload.filename or "upload", await upload.read())
        try:
            batches = await asyncio.to_thread(
                prepare_reports,
                source,
                ReportKind(kind),
                city,
                period,
                date.fromisoformat(as_of),
            )
        except (InputError, BatchError) as exc:
            return form_page(request, session, 422, unreadable=str(exc), **values)
        prepared = Upload(city, ReportKind(kind), period, as_of, source.name,
                          [Outcome(batch) for batch in batches])  # fmt: skip
        await asyncio.gather(*(_dry_run(portal, session, city, o) for o in prepared.outcomes))
        upload_id = None if prepared.errors else session.keep_upload(prepared)
        return portal.render(request, "submit_check.html", upload=prepared, upload_id=upload_id)

    async def send(request: Request) -> Response:
        session = _may_submit(portal.signed_in(request))
        form = await portal.form(request)
        upload_id = str(form.get("upload") or "")
        prepared = session.uploads.get(upload_id)
        if not isinstance(prepared, Upload) or not session.may_submit_for(prepared.city):
            raise NotFoundError()
        for outcome in prepared.outcomes:
            if outcome.status == "checked":
                await _send(portal, session, prepared, outcome)
        return redirect(f"/submit/{upload_id}")

    async def follow(request: Request) -> Response:
        session = _may_submit(portal.signed_in(request))
        upload_id = request.path_params["upload"]
        prepared = session.uploads.get(upload_id)
        if not isinstance(prepared, Upload):
            raise NotFoundError()
        await asyncio.gather(
            *(
                _follow(portal, session, prepared, o)
                for o in prepared.outcomes
                if o.status in ("accepted", "duplicate")
            )
        )
        return portal.render(
            request,
            "submit_follow.html",
            upload=prepared,
            upload_id=upload_id,
            refresh_s=FOLLOW_REFRESH_S if prepared.following else None,
        )

    return [
        Route("/submit", show_form, methods=["GET"]),
        Route("/submit", check, methods=["POST"]),
        Route("/submit/send", send, methods=["POST"]),
        Route("/submit/{upload}", follow, methods=["GET"]),
    ]


def _form_problem(
    portal: Portal, session: Session, values: dict[str, str], upload: object
) -> str | None:
    """The source-language message of what is wrong with the form itself, if anything."""
    if values["kind"] not in (ReportKind.SITES, ReportKind.GIGABIT):
        return N_("Choose the kind of report.")
    if values["city"] not in portal.targets.cities or not session.may_submit_for(values["city"]):
        return N_("This token may not submit for this city.")
    if not PERIOD.match(values["period"]):
        return N_("The period is a month: YYYY-MM.")
    if not DAY.match(values["as_of"]):
        return N_("The as-of date is a day: YYYY-MM-DD.")
    try:
        date.fromisoformat(values["as_of"])
    except ValueError:
        return N_("The as-of date is a day: YYYY-MM-DD.")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return N_("Choose a file.")
    return None


async def _dry_run(portal: Portal, session: Session, city: str, outcome: Outcome) -> None:
    """The server's findings too, even where the file already has errors (then only for the
    rows that passed, as ``pacer submit`` does): a person fixes everything in one go."""
    batch = outcome.batch
    outcome.errors = list(batch.errors)
    if batch.errors and not batch.sent:
        return
    answer = await portal.api.submit(session.token, city, batch.kind, batch.body, dry_run=True)
    if answer.status == 200 and not batch.errors:
        outcome.summary = ReportSummary.model_validate(answer.body.get("summary", {}))
    elif answer.status != 200:
        outcome.errors += _errors(batch, answer.status, answer.body)


def _errors(batch: Batch, status: int, body: Any) -> list[RowError]:
    items = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        items = [{"loc": [], "code": f"http_{status}", "message": f"HTTP {status}"}]
    return [batch.error(item) for item in items if isinstance(item, dict)]


async def _send(portal: Portal, session: Session, upload: Upload, outcome: Outcome) -> None:
    batch = outcome.batch
    answer = await portal.api.submit(session.token, upload.city, batch.kind, batch.body, False)
    if answer.status in (200, 202):
        outcome.status = "duplicate" if answer.body.get("status") == "duplicate" else "accepted"
    else:
        outcome.status = "rejected"
        outcome.errors = _errors(batch, answer.status, answer.body)


async def _follow(portal: Portal, session: Session, upload: Upload, outcome: Outcome) -> None:
    record = await portal.api.report(session.token, upload.city, outcome.batch.report_id)
    if record is None or record.get("status") not in ("applied", "rejected"):
        return
    outcome.status = str(record["status"])
    outcome.summary = ReportSummary.model_validate(record.get("summary", {}))
    if outcome.status == "rejected":
        outcome.errors = (
            _errors(outcome.batch, 422, record)
            if record.get("errors")
            else [RowError(None, None, str(record.get("reason") or "rejected"), "rejected")]
        )
