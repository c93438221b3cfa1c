"""The CPD log's pages, for their owner only: the log with totals and filters, the switch, the
certificate details, reflections without JavaScript, the certificate, and the downloads."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session

from site_api.accounts.deps import OptionalUser
from site_api.accounts.users import utcnow
from site_api.config import Settings
from site_api.content.currency import long_date
from site_api.cpd import log
from site_api.cpd.api import ReflectionIn, draft_key, find_reflection, save_reflection
from site_api.cpd.recorder import CpdRecorder
from site_api.deps import EngineDep, SettingsDep
from site_api.models import CpdReflection, User
from site_api.web.routes.forms import NO_STORE, page, require_csrf

router = APIRouter(include_in_schema=False)
FormStr = Annotated[str, Form()]
SITE_NAME = "Clinical Notebook"
MAX_NAME = 200
MAX_REGISTRATION = 50
DONE = {
    "on": "Your reading is now recorded for CPD on this browser and every other.",
    "off": "CPD recording is switched off: nothing more is recorded. Your log is kept.",
    "cleared": "Your CPD log has been cleared.",
    "details": "The details on your certificate have been saved.",
    "reflected": "Your reflection has been saved: the entry is claimed.",
}


class BadFilter(ValueError):
    """A filter the log cannot apply; the message says what to change."""


def _to_sign_in(back: str = "/account/cpd") -> RedirectResponse:
    return _see_other(f"/sign-in?next={back}")


def _see_other(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303, headers=NO_STORE)


def _done(key: str) -> RedirectResponse:
    return _see_other(f"/account/cpd?done={key}")


def _problem(request: Request, status_code: int, title: str, heading: str, text: str) -> Response:
    """A message page with a way back to the log (a bad form, period or entry)."""
    return page(
        request,
        title,
        "message.html",
        status_code=status_code,
        heading=heading,
        paragraphs=[text],
        link={"href": "/account/cpd", "text": "Back to your CPD log"},
    )


def _date(raw: str, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadFilter(f"{name}: dates are written YYYY-MM-DD.") from None


def _filters(start: str, end: str, claimed: str) -> tuple[date | None, date | None, log.Claimed]:
    first, last = _date(start, "from"), _date(end, "to")
    if first and last and first > last:
        raise BadFilter(f"from: {first} is after to {last}; swap them.")
    if claimed not in ("", "claimed", "unclaimed"):
        raise BadFilter("show: choose all, claimed or unclaimed entries.")
    return first, last, claimed  # type: ignore[return-value]


def _year(raw: str, settings: Settings) -> int:
    if not raw:
        return log.current_year_start(utcnow().date(), settings.cpd_year_start_month)
    if not (raw.isascii() and raw.isdigit() and len(raw) == 4 and 2000 <= int(raw) <= 2100):
        raise BadFilter("year: the year the appraisal year starts in, e.g. 2026.")
    return int(raw)


def _entry_view(entry: log.Entry) -> dict[str, Any]:
    return {
        "entry": entry,
        "date_text": long_date(entry.day),
        "hours": log.hours(entry.credits),
        "reflect_href": entry.reflect_href,
    }


def _log_page(
    request: Request,
    engine: Engine,
    settings: Settings,
    user: User,
    start: str = "",
    end: str = "",
    claimed: str = "",
    year: str = "",
    notice: str = "",
) -> Response:
    assert user.id is not None
    rule = log.Rule.of(settings)
    site = request.app.state.live.site
    messages: list[str] = []
    try:
        first, last, show = _filters(start, end, claimed)
        year_start = _year(year, settings)
    except BadFilter as exc:
        messages = [str(exc)]
        first, last, show = None, None, ""
        year_start = _year("", settings)
    items = log.entries(site, engine, user.id, rule, first, last, show)
    everything = log.entries(site, engine, user.id, rule)
    year_first, year_last = log.appraisal_year(year_start, settings.cpd_year_start_month)
    in_year = [e for e in everything if year_first <= e.day <= year_last]
    year_totals = log.totals(in_year)
    return page(
        request,
        "Your CPD log",
        "account_cpd.html",
        status_code=400 if messages else 200,
        notice=notice,
        messages=messages,
        cpd_on=user.cpd_on,
        name=user.cpd_name,
        registration=user.cpd_registration,
        max_name=MAX_NAME,
        max_registration=MAX_REGISTRATION,
        min_minutes=max(1, settings.cpd_min_seconds // 60),
        per_topic=log.hours(rule.credits),
        entries=[_entry_view(e) for e in items],
        filters={"start": start, "end": end, "claimed": claimed, "year": str(year_start)},
        totals=log.totals(items),
        months=log.by_month(items),
        hours=log.hours,
        year_label=f"{long_date(year_first)} to {long_date(year_last)}",
        year_totals=year_totals,
        certificate_href="/account/cpd/certificate?"
        + urlencode({"start": year_first.isoformat(), "end": year_last.isoformat()}),
        download_query=urlencode({k: v for k, v in (("start", start), ("end", end)) if v}),
    )


@router.get("/account/cpd")
@router.get("/account/cpd/")
def cpd_log(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    user: OptionalUser,
    start: str = "",
    end: str = "",
    claimed: str = "",
    year: str = "",
    done: str = "",
) -> Response:
    """The reader's CPD log: entries newest first, totals per month and appraisal year."""
    if user is None:
        return _to_sign_in()
    return _log_page(request, engine, settings, user, start, end, claimed, year, DONE.get(done, ""))


def _set_user(engine: Engine, user_id: int, **values: Any) -> None:
    with Session(engine) as db:
        row = db.get(User, user_id)
        if row is None:
            return
        for key, value in values.items():
            setattr(row, key, value)
        db.add(row)
        db.commit()


@router.post("/account/cpd/switch")
def switch(
    request: Request,
    engine: EngineDep,
    user: OptionalUser,
    record: FormStr = "",
    back: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    """Switch CPD recording on or off (off keeps the log; clearing is its own button)."""
    require_csrf(request, csrf_token)
    if user is None or user.id is None:
        return _to_sign_in()
    on = record == "on"
    _set_user(engine, user.id, cpd_on=on)
    if not on:
        recorder: CpdRecorder = request.app.state.cpd
        recorder.forget_user(user.id)
    done = "on" if on else "off"
    return _see_other(f"/account?done=cpd-{done}#cpd") if back == "account" else _done(done)


@router.post("/account/cpd/details")
def details(
    request: Request,
    engine: EngineDep,
    user: OptionalUser,
    name: FormStr = "",
    registration: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    """The name and (optional) professional registration number the certificate shows."""
    require_csrf(request, csrf_token)
    if user is None or user.id is None:
        return _to_sign_in()
    name, registration = " ".join(name.split()), " ".join(registration.split())
    if len(name) > MAX_NAME or len(registration) > MAX_REGISTRATION:
        limits = (
            f"A name is at most {MAX_NAME} characters and a registration number at most "
            f"{MAX_REGISTRATION}."
        )
        return _problem(request, 400, "Your CPD log", "Not saved", limits)
    _set_user(engine, user.id, cpd_name=name, cpd_registration=registration)
    return _done("details")


@router.post("/account/cpd/clear")
def clear(
    request: Request, engine: EngineDep, user: OptionalUser, csrf_token: FormStr = ""
) -> Response:
    """Delete every entry and reflection of the reader's log."""
    require_csrf(request, csrf_token)
    if user is None or user.id is None:
        return _to_sign_in()
    recorder: CpdRecorder = request.app.state.cpd
    recorder.forget_user(user.id)
    log.clear(engine, user.id)
    return _done("cleared")


def _reflect_page(
    request: Request,
    user_id: int,
    entry: log.Entry,
    form: dict[str, Any],
    version: int | None,
    status_code: int = 200,
    messages: list[str] | None = None,
    saved: CpdReflection | None = None,
) -> Response:
    return page(
        request,
        "Reflect on your reading",
        "account_cpd_reflect.html",
        status_code=status_code,
        view=_entry_view(entry),
        draft_key=draft_key(user_id, entry.page_id, entry.day),
        form=form,
        version=version or "",
        messages=messages or [],
        saved=saved,
    )


def _entry_or_404(
    request: Request, engine: Engine, settings: Settings, user_id: int, page_id: str, day: str
) -> log.Entry | Response:
    try:
        when = date.fromisoformat(day)
    except ValueError:
        when = None
    entry = (
        log.find_entry(
            request.app.state.live.site, engine, user_id, log.Rule.of(settings), page_id, when
        )
        if when and len(page_id) <= 64
        else None
    )
    if entry is None:
        return _problem(
            request,
            404,
            "No such entry",
            "There is no such entry in your CPD log",
            "A topic appears in your log once you have read it long enough in a day.",
        )
    return entry


@router.get("/account/cpd/reflect")
def reflect_form(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    user: OptionalUser,
    day: str = "",
) -> Response:
    """The reflection form for one entry (`?page=<id>&day=<date>`, no JavaScript needed)."""
    if user is None or user.id is None:
        return _to_sign_in()
    topic = request.query_params.get("page", "")
    found = _entry_or_404(request, engine, settings, user.id, topic, day)
    if isinstance(found, Response):
        return found
    r = found.reflection
    form = {
        "learned": r.learned if r else "",
        "change": r.change if r else "",
        "further": r.further if r else "",
    }
    return _reflect_page(request, user.id, found, form, r.version if r else None)


@router.post("/account/cpd/reflect")
def reflect(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    user: OptionalUser,
    page: FormStr = "",
    day: FormStr = "",
    learned: FormStr = "",
    change: FormStr = "",
    further: FormStr = "",
    version: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    """Save a reflection; on a conflict, show the saved one beside the reader's unsaved text."""
    require_csrf(request, csrf_token)
    if user is None or user.id is None:
        return _to_sign_in()
    found = _entry_or_404(request, engine, settings, user.id, page, day)
    if isinstance(found, Response):
        return found
    form = {"learned": learned, "change": change, "further": further}
    base = int(version) if version.isascii() and version.isdigit() and len(version) < 10 else None
    try:
        body = ReflectionIn(**form, version=base)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = f"{first['loc'][0]}: {first['msg'].removeprefix('Value error, ')}"
        return _reflect_page(request, user.id, found, form, base, 400, [message])
    if not save_reflection(engine, user.id, found.page_id, found.day, body):
        current = find_reflection(engine, user.id, found.page_id, found.day)
        message = (
            "This reflection was changed in another tab or on another device after you opened "
            "it. Your text below is not saved yet: save it to replace the one shown, or go back."
        )
        return _reflect_page(
            request,
            user.id,
            found,
            form,
            current.version if current else None,
            409,
            [message],
            current,
        )
    return _done("reflected")


@router.get("/account/cpd/certificate")
def certificate(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    user: OptionalUser,
    start: str = "",
    end: str = "",
) -> Response:
    """A printable certificate of the claimed entries in a period (the appraisal year by default)."""
    if user is None or user.id is None:
        return _to_sign_in()
    rule = log.Rule.of(settings)
    try:
        first, last, _ = _filters(start, end, "")
    except BadFilter as exc:
        return _problem(request, 400, "Not a period", "Not a period", str(exc))
    if first is None or last is None:
        year_first, year_last = log.appraisal_year(
            log.current_year_start(utcnow().date(), rule.year_start_month), rule.year_start_month
        )
        first, last = first or year_first, last or year_last
    items = log.entries(request.app.state.live.site, engine, user.id, rule, first, last)
    claimed = [_entry_view(e) for e in items if e.claimed]
    return page(
        request,
        "CPD certificate",
        "account_cpd_certificate.html",
        site_name=SITE_NAME,
        name=user.cpd_name or user.email,
        registration=user.cpd_registration,
        period=f"{long_date(first)} to {long_date(last)}",
        totals=log.totals(items),
        hours=log.hours,
        claimed=claimed,
        printed=long_date(utcnow().date()),
        public_url=settings.public_url,
    )


def _download(
    request: Request, engine: Engine, settings: Settings, user: User, start: str, end: str
) -> list[dict[str, Any]] | Response:
    assert user.id is not None
    try:
        first, last, _ = _filters(start, end, "")
    except BadFilter as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400, headers=NO_STORE)
    items = log.entries(
        request.app.state.live.site, engine, user.id, log.Rule.of(settings), first, last
    )
    return log.export_rows(items)


def _attachment(filename: str) -> dict[str, str]:
    return {**NO_STORE, "content-disposition": f'attachment; filename="{filename}"'}


@router.get("/account/cpd.json")
def cpd_json(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    user: OptionalUser,
    start: str = "",
    end: str = "",
) -> Response:
    """The log (optionally a period of it) as a JSON download."""
    if user is None:
        return _to_sign_in()
    rows = _download(request, engine, settings, user, start, end)
    if isinstance(rows, Response):
        return rows
    data = export(request, engine, settings, user, rows)
    return JSONResponse(data, headers=_attachment("clinical-notebook-cpd.json"))


def export(
    request: Request,
    engine: Engine,
    settings: Settings,
    user: User,
    rows: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The log as "download my data" and the JSON download give it."""
    assert user.id is not None
    if rows is None:
        items = log.entries(request.app.state.live.site, engine, user.id, log.Rule.of(settings))
        rows = log.export_rows(items)
    return {
        "recording": user.cpd_on,
        "name": user.cpd_name,
        "registration": user.cpd_registration,
        "minimum_minutes_per_topic": settings.cpd_min_seconds / 60,
        "hours_per_topic": settings.cpd_credits_per_topic,
        "entries": rows,
        "exported": utcnow().isoformat(timespec="seconds") + "Z",
    }


@router.get("/account/cpd.csv")
def cpd_csv(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    user: OptionalUser,
    start: str = "",
    end: str = "",
) -> Response:
    """The log (optionally a period of it) as a CSV download for a spreadsheet."""
    if user is None:
        return _to_sign_in()
    rows = _download(request, engine, settings, user, start, end)
    if isinstance(rows, Response):
        return rows
    return Response(
        log.csv_bytes(rows),
        media_type="text/csv; charset=utf-8",
        headers=_attachment("clinical-notebook-cpd.csv"),
    )
