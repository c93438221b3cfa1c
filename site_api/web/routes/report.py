"""Report a problem with a topic: a small form that works without JavaScript."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from site_api.accounts.deps import OptionalUser
from site_api.deps import EngineDep, SettingsDep
from site_api.reports import store
from site_api.web.routes.forms import page, require_csrf
from site_api.web.security import client_address

router = APIRouter(include_in_schema=False)

#: The form's fields at their limits, URL-encoded (up to 9 bytes a character), with room to spare.
MAX_BODY = 64 * 1024


def _topic(request: Request, page_id: str) -> tuple[str, str]:
    """(title, url) of the topic a report is about; 404 for anything else."""
    found = request.app.state.live.site.by_id.get(page_id)
    if found is None:
        raise HTTPException(status_code=404, detail="There is no such topic to report on.")
    return found.meta.title, found.meta.url


def _form(request: Request, page_id: str, status_code: int = 200, **values: object) -> Response:
    title, url = _topic(request, page_id)
    # Template values only (Any: none of them is one of page()'s own parameters).
    fields: dict[str, Any] = {"what": "", "reference": "", "email": "", "messages": [], **values}
    return page(
        request,
        "Report a problem",
        "report.html",
        status_code=status_code,
        page_id=page_id,
        page_title=title,
        page_url=url,
        max_what=store.MAX_WHAT,
        max_reference=store.MAX_REFERENCE,
        **fields,
    )


@router.get("/report")
@router.get("/report/")
def report_form(request: Request, page: str = "") -> Response:
    """The form for one topic (`?page=<page id>`)."""
    return _form(request, page)


async def _read_form(request: Request) -> dict[str, str]:
    """The URL-encoded form, read no further than MAX_BODY (a larger body is refused unread)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(status_code=413, detail="That report is too long to send.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPException(status_code=413, detail="That report is too long to send.")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise HTTPException(status_code=400, detail="The form could not be read.") from None
    return {name: values[0] for name, values in fields.items()}


@router.post("/report")
@router.post("/report/")
async def send_report(
    request: Request,
    background: BackgroundTasks,
    engine: EngineDep,
    settings: SettingsDep,
    user: OptionalUser,
) -> Response:
    """Check and store the report, mail the editors after answering, and thank the reader."""
    form = await _read_form(request)
    require_csrf(request, form.get("csrf_token"))
    page_id = form.get("page", "")
    title, url = _topic(request, page_id)
    values = {k: form.get(k, "") for k in ("what", "reference", "email")}
    try:
        report = store.check(page_id, **values)
    except store.ReportError as exc:
        return _form(request, page_id, status_code=400, messages=[str(exc)], **values)
    address = client_address(request.scope, settings.trusted_proxies)
    user_id = user.id if user is not None else None
    number = await run_in_threadpool(store.save, engine, report, user_id, address)
    background.add_task(store.mail_editors, settings, report, title, url, number)
    return page(
        request,
        "Thank you",
        "message.html",
        heading="Thank you for your report",
        paragraphs=[f"The editors will look at what you found in {title}."],
        link={"href": url, "text": f"Back to {title}"},
    )
