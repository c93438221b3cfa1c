"""The editorial desk at `/editorial/`: server-rendered pages and CSV for editors only.

A reader gets the site's 404 (the desk is not advertised); an anonymous visitor is sent to sign
in and back. `DeskDoor` gives them that answer for every method on every desk path, known or
not, before routing could tell which exist. Every answer is personal (`private, no-store`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from site_api.accounts import sessions
from site_api.accounts.deps import OptionalUser
from site_api.accounts.users import is_editor
from site_api.content.currency import due_label, long_date
from site_api.cpd import log as cpd_log
from site_api.deps import EngineDep, SettingsDep
from site_api.editorial import funnel, queue, triage
from site_api.models import User
from site_api.serving.links import sign_in_link, with_query
from site_api.web import errors
from site_api.web.routes.forms import NO_STORE, page, require_csrf

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]


DESK = "/editorial"


def is_desk_path(path: str) -> bool:
    """Whether `path` is the desk or under it (known to the router or not)."""
    return path == DESK or path.startswith(DESK + "/")


def _refusal(request: Request, signed_in: bool) -> HTTPException:
    """What anyone but an editor gets at a desk path: sign in and back, or the ordinary 404."""
    if not signed_in:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method not in ("GET", "HEAD"):
            target = "/editorial/"  # a form's target is no page to come back to
        return HTTPException(
            status_code=303,
            detail="Sign in as an editor first.",
            headers={"location": sign_in_link(target)},
        )
    # The same answer as for a path that does not exist: the desk is not advertised.
    return HTTPException(status_code=404, detail="There is no page at this address.")


def _editor(request: Request, user: OptionalUser) -> User:
    if user is None or not is_editor(user):
        raise _refusal(request, user is not None)
    return user


class DeskDoor:
    """Answers anyone but an editor at any desk path, whatever the method, with `_refusal`.

    It stands before routing: there a 405's `Allow` (`GET /editorial/reports/1` answered
    `Allow: OPTIONS, POST`) or an OPTIONS answer would tell a reader which desk routes exist.
    """

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_desk_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request({**scope, "app": self.api})
        token = request.cookies.get(sessions.COOKIE)
        store: sessions.SessionStore = self.api.state.sessions
        reader = await run_in_threadpool(store.lookup, token) if token else None
        if reader is not None and reader.editor:
            await self.app(scope, receive, send)
            return
        refusal = _refusal(request, reader is not None)
        response = errors.respond(
            request, refusal.status_code, str(refusal.detail), dict(refusal.headers or {})
        )
        await response(scope, receive, send)


EditorDep = Annotated[User, Depends(_editor)]


def _titles(request: Request) -> dict[str, tuple[str, str]]:
    """page id -> (title, url) of the live build."""
    return {pid: (p.meta.title, p.meta.url) for pid, p in request.app.state.live.site.by_id.items()}


def _today() -> datetime:
    return datetime.now(UTC)


def _bad(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/editorial")
@router.get("/editorial/")
async def desk(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    editor: EditorDep,
    status: str = "",
    topic: str = "",
) -> Response:
    """The desk: reader reports, the review queue, unanswered searches, the funnel in brief,
    and how many readers keep a CPD log (aggregates only)."""
    try:
        chosen = triage.check_status(status, allow_any=True)
    except triage.TriageError as exc:
        raise _bad(str(exc)) from None
    titles = _titles(request)
    today = _today().date()
    reports = await run_in_threadpool(triage.list_reports, engine, chosen, topic or None)
    topics = await run_in_threadpool(triage.reported_topics, engine)
    build = request.app.state.live.current().path
    listed = await run_in_threadpool(queue.desk_topics, build, today)
    misses = await run_in_threadpool(queue.unanswered, engine)
    span = funnel.parse_range("", "", today)
    counts = await run_in_threadpool(funnel.load, engine, span)
    recording, weeks = await run_in_threadpool(
        cpd_log.desk_summary, engine, cpd_log.Rule.of(settings), today
    )
    return page(
        request,
        "Editorial desk",
        "editorial.html",
        editor=editor.email,
        statuses=triage.STATUSES,
        status=status,
        topic=topic,
        topics=[(pid, titles.get(pid, (pid, ""))[0], n) for pid, n in topics],
        reports=reports,
        titles=titles,
        max_remark=triage.MAX_REMARK,
        csv_link=with_query("/editorial/reports.csv", status=status, topic=topic),
        due=[(d, due_label(d.days_overdue), long_date(d.due)) for d in listed.due],
        review_within=queue.REVIEW_WITHIN,
        drafts=listed.drafts,
        unapproved=listed.unapproved,
        desk_counts=listed.counts,
        misses=misses,
        funnel=counts,
        labels=funnel.LABELS,
        steps_plot=Markup(funnel.steps_svg(counts, "desk-steps")),  # noqa: S704 (our own SVG)
        cpd_recording=recording,
        cpd_weeks=weeks,
    )


@router.get("/editorial/reports.csv")
async def reports_csv(
    request: Request, engine: EngineDep, editor: EditorDep, status: str = "", topic: str = ""
) -> Response:
    """Every report matching the filters, as CSV."""
    try:
        chosen = triage.check_status(status, allow_any=True)
    except triage.TriageError as exc:
        raise _bad(str(exc)) from None
    rows = await run_in_threadpool(triage.list_reports, engine, chosen, topic or None, None)
    titles = _titles(request)
    text = triage.reports_csv(rows, lambda pid: titles.get(pid, (pid, ""))[0])
    return _csv(text, "problem-reports.csv")


@router.post("/editorial/reports/{report_id}")
async def update_report(
    request: Request,
    engine: EngineDep,
    editor: EditorDep,
    report_id: int,
    status: FormStr = "",
    remark: FormStr = "",
    csrf_token: FormStr = "",
    back: FormStr = "",
) -> Response:
    """Set a report's status and remark, then back to the desk (with its filters)."""
    require_csrf(request, csrf_token)
    try:
        found = await run_in_threadpool(triage.update, engine, report_id, status, remark)
    except triage.TriageError as exc:
        raise _bad(str(exc)) from None
    if found is None:
        raise HTTPException(status_code=404, detail=f"There is no report {report_id}.")
    target = back if back.startswith("/editorial/") and "//" not in back else "/editorial/"
    return RedirectResponse(f"{target}#report-{report_id}", status_code=303, headers=NO_STORE)


def _range(start: str, end: str) -> funnel.Range:
    try:
        return funnel.parse_range(start, end, _today().date())
    except funnel.RangeError as exc:
        raise _bad(str(exc)) from None


@router.get("/editorial/funnel")
@router.get("/editorial/funnel/")
async def funnel_page(
    request: Request, engine: EngineDep, editor: EditorDep, start: str = "", end: str = ""
) -> Response:
    """The meter funnel over a range: plots, each with its table, and a CSV link."""
    span = _range(start, end)
    counts = await run_in_threadpool(funnel.load, engine, span)
    titles = _titles(request)
    return page(
        request,
        "Meter funnel",
        "editorial_funnel.html",
        funnel=counts,
        labels=funnel.LABELS,
        events=list(funnel.LABELS),
        daily_lines=funnel.DAILY_LINES,
        max_days=funnel.MAX_DAYS,
        topics=[(titles.get(pid, (pid, ""))[0], pid, c) for pid, c in counts.topics[:50]],
        daily_plot=Markup(funnel.daily_svg(counts, "daily")),  # noqa: S704 (our own SVG)
        steps_plot=Markup(funnel.steps_svg(counts, "steps")),  # noqa: S704 (our own SVG)
        csv_link=with_query(
            "/editorial/funnel.csv", start=span.start.isoformat(), end=span.end.isoformat()
        ),
    )


@router.get("/editorial/funnel.csv")
async def funnel_csv(
    engine: EngineDep, editor: EditorDep, start: str = "", end: str = ""
) -> Response:
    """The funnel of a range as CSV: per day, then per topic."""
    span = _range(start, end)
    counts = await run_in_threadpool(funnel.load, engine, span)
    return _csv(funnel.funnel_csv(counts), f"funnel-{span.start}-{span.end}.csv")
