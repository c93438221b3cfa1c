"""The signed-in reader's account page: notes, password, sign out everywhere, export, delete."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from site_api.accounts import ratelimit, tokens, users
from site_api.accounts.deps import OptionalUser, StoreDep
from site_api.accounts.sessions import COOKIE as SESSION_COOKIE
from site_api.accounts.sessions import SessionStore
from site_api.deps import EngineDep, SettingsDep
from site_api.models import OidcIdentity, ProblemReport, User, UserSession
from site_api.notes import library
from site_api.notes.api import export_rows
from site_api.reports.store import reports_of
from site_api.shares.api import list_shares
from site_api.web.routes import account_cpd, account_notes
from site_api.web.routes.forms import NO_STORE, page, require_csrf

router = APIRouter(include_in_schema=False)

# A stolen session must not become a way to guess the password it is asked for here.
REAUTH_FAILURES = ratelimit.Limit(10, timedelta(minutes=15))
WRONG_PASSWORD = "Your current password is not right."
WRONG_EMAIL = "Type your email address exactly as shown to confirm."
DONE = {
    "password": "Your password has been changed. Every other browser has been signed out.",
    "password-set": "Your password has been set. You can now sign in with it as well.",
    "recent-off": "Recently viewed topics are switched off, and the list has been cleared.",
    "recent-on": "Recently viewed topics are switched on.",
    "cpd-on": account_cpd.DONE["on"],
    "cpd-off": account_cpd.DONE["off"],
}

FormStr = Annotated[str, Form()]


def _to_sign_in() -> RedirectResponse:
    return RedirectResponse("/sign-in?next=/account", status_code=303, headers=NO_STORE)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _password_ok(engine: Engine, user: User, password: str) -> bool:
    """Re-entry of the account's password, rate limited per account (counted before argon2)."""
    key = ratelimit.account_key("account", user.email)
    ratelimit.hit(engine, key, REAUTH_FAILURES)
    if len(password) <= 4 * users.MAX_PASSWORD and users.verify_password(
        password, user.password_hash
    ):
        ratelimit.give_back(engine, key)
        return True
    return False


def end_sessions(store: SessionStore, user_id: int, keep: str | None = None) -> None:
    """Delete every session of a user except the one whose token is `keep`."""
    store.end_user(user_id, keep)


def _account_page(
    request: Request,
    engine: Engine,
    user: User,
    status_code: int = 200,
    password_messages: list[str] | None = None,
    delete_messages: list[str] | None = None,
    notice: str = "",
    q: str = "",
    notes_page: str = "",
) -> Response:
    assert user.id is not None
    my_notes = account_notes.context(request.app.state.live.site, engine, user.id, q, notes_page)
    with Session(engine) as db:
        providers = db.exec(
            select(OidcIdentity.provider).where(OidcIdentity.user_id == user.id)
        ).all()
    return page(
        request,
        "Your account",
        "account.html",
        status_code=status_code,
        email=user.email,
        verified=user.email_verified_at is not None,
        has_password=user.password_hash is not None,
        providers=sorted(set(providers)),
        notice=notice,
        password_messages=password_messages or [],
        delete_messages=delete_messages or [],
        notes=my_notes,
        saved=library.saved_topics(request.app.state.live.site, engine, user.id),
        recent=library.recent_topics(request.app.state.live.site, engine, user.id),
        keep_recent=user.keep_recent,
        cpd_on=user.cpd_on,
    )


@router.get("/account")
@router.get("/account/")
def account(
    request: Request,
    engine: EngineDep,
    user: OptionalUser,
    done: str = "",
    q: str = "",
    notes_page: str = "",
) -> Response:
    """The account page; `q` searches the reader's notes, `notes_page` pages through them."""
    if user is None:
        return _to_sign_in()
    return _account_page(
        request, engine, user, notice=DONE.get(done, ""), q=q, notes_page=notes_page
    )


def _attachment(filename: str) -> dict[str, str]:
    return {**NO_STORE, "content-disposition": f'attachment; filename="{filename}"'}


def _share_rows(engine: Engine, user_id: int) -> list[dict[str, Any]]:
    """The reader's share links, for both downloads."""
    return [
        {
            "page_id": s.page_id,
            "created": _time(s.created_at),
            "expires": _time(s.expires_at),
            "revoked": _time(s.revoked_at),
        }
        for s in list_shares(engine, user_id, limit=None)
    ]


@router.get("/account/notes.json")
def notes_json(request: Request, engine: EngineDep, user: OptionalUser) -> Response:
    """Every note of this reader, newest first, as a JSON download."""
    if user is None or user.id is None:
        return _to_sign_in()
    data = {
        "notes": export_rows(request, engine, user.id),
        "share_links": _share_rows(engine, user.id),
        "exported": _time(users.utcnow()),
    }
    return JSONResponse(data, headers=_attachment("clinical-notebook-notes.json"))


@router.get("/account/notes.csv")
def notes_csv(request: Request, engine: EngineDep, user: OptionalUser) -> Response:
    """Every note of this reader, newest first, as a CSV download for a spreadsheet."""
    if user is None or user.id is None:
        return _to_sign_in()
    body = account_notes.csv_bytes(export_rows(request, engine, user.id))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers=_attachment("clinical-notebook-notes.csv"),
    )


@router.post("/account/password")
def change_password(
    request: Request,
    engine: EngineDep,
    store: StoreDep,
    user: OptionalUser,
    current_password: FormStr = "",
    new_password: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    """Change (or, for single sign-on accounts, set) the password; other sessions end."""
    require_csrf(request, csrf_token)
    if user is None or user.id is None:
        return _to_sign_in()
    had_password = user.password_hash is not None
    if had_password and not _password_ok(engine, user, current_password):
        return _account_page(request, engine, user, 400, password_messages=[WRONG_PASSWORD])
    try:
        users.check_password(new_password, user.email)
    except users.AccountError as exc:
        return _account_page(request, engine, user, 400, password_messages=[str(exc)])
    with Session(engine) as db:
        row = db.get(User, user.id)
        if row is None:
            return _to_sign_in()
        row.password_hash = users.hash_password(new_password)
        db.add(row)
        db.commit()
    # A reset link sent before the change must not undo it.
    tokens.revoke(engine, user.id, "reset")
    end_sessions(store, user.id, keep=request.cookies.get(SESSION_COOKIE))
    done = "password" if had_password else "password-set"
    return RedirectResponse(f"/account?done={done}", status_code=303, headers=NO_STORE)


@router.post("/account/recent")
def switch_recent(
    request: Request,
    engine: EngineDep,
    user: OptionalUser,
    keep: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    """Switch the recently viewed list on or off; off also forgets what it held."""
    require_csrf(request, csrf_token)
    if user is None or user.id is None:
        return _to_sign_in()
    on = keep == "on"
    with Session(engine) as db:
        row = db.get(User, user.id)
        if row is None:
            return _to_sign_in()
        row.keep_recent = on
        db.add(row)
        db.commit()
    if not on:
        library.clear_recent(engine, user.id)
    done = "recent-on" if on else "recent-off"
    return RedirectResponse(f"/account?done={done}#recent", status_code=303, headers=NO_STORE)


@router.post("/account/sign-out-everywhere")
def sign_out_everywhere(
    request: Request, store: StoreDep, user: OptionalUser, csrf_token: FormStr = ""
) -> Response:
    """End every session of this user, this browser's too."""
    require_csrf(request, csrf_token)
    if user is None or user.id is None:
        return _to_sign_in()
    end_sessions(store, user.id)
    # The home page says so, and clears this browser's drafts, as after signing out.
    response = RedirectResponse("/?signed-out", status_code=303, headers=NO_STORE)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _time(value: datetime | None) -> str | None:
    """Stored times are naive UTC: say so."""
    return value.isoformat(timespec="seconds") + "Z" if value else None


@router.get("/account/export.json")
def export(
    request: Request, engine: EngineDep, settings: SettingsDep, user: OptionalUser
) -> Response:
    """Everything stored about this account, as a JSON download."""
    if user is None or user.id is None:
        return _to_sign_in()
    current = request.cookies.get(SESSION_COOKIE)
    current_hash = _hash(current) if current else ""
    with Session(engine) as db:
        sessions = db.exec(
            select(UserSession)
            .where(UserSession.user_id == user.id)
            .order_by(col(UserSession.created_at))
        ).all()
        identities = db.exec(
            select(OidcIdentity)
            .where(OidcIdentity.user_id == user.id)
            .order_by(col(OidcIdentity.created_at))
        ).all()
    data: dict[str, Any] = {
        "account": {
            "email": user.email,
            "created": _time(user.created_at),
            "email_verified": _time(user.email_verified_at),
            "role": user.role,
            "password_set": user.password_hash is not None,
        },
        "sessions": [
            {
                "created": _time(s.created_at),
                "last_seen": _time(s.last_seen),
                "this_browser": s.token_hash == current_hash,
            }
            for s in sessions
        ],
        "single_sign_on": [
            {"provider": i.provider, "subject": i.subject, "linked": _time(i.created_at)}
            for i in identities
        ],
        "notes": export_rows(request, engine, user.id),
        "share_links": _share_rows(engine, user.id),
        # The editors' status and remark are theirs, not about the reader: left out.
        "problem_reports": [
            {
                "page_id": r.page_id,
                "sent": _time(r.created_at),
                "what": r.what,
                "reference": r.reference,
                "reply_to": r.email,
            }
            for r in reports_of(engine, user.id)
        ],
        "saved_topics": library.saved_topics(request.app.state.live.site, engine, user.id),
        "recently_viewed": {
            "switched_on": user.keep_recent,
            "topics": library.recent_topics(request.app.state.live.site, engine, user.id),
        },
        "cpd_log": account_cpd.export(request, engine, settings, user),
        "exported": _time(users.utcnow()),
    }
    return JSONResponse(data, headers=_attachment("clinical-notebook-account.json"))


@router.post("/account/delete")
def delete_account(
    request: Request,
    engine: EngineDep,
    store: StoreDep,
    user: OptionalUser,
    password: FormStr = "",
    confirm_email: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    """Delete the account and everything of it, after the password (or the email) is re-entered."""
    require_csrf(request, csrf_token)
    if user is None or user.id is None:
        return _to_sign_in()
    if user.password_hash is not None:
        if not _password_ok(engine, user, password):
            return _account_page(request, engine, user, 400, delete_messages=[WRONG_PASSWORD])
    elif confirm_email.strip().casefold() != user.email.casefold():
        return _account_page(request, engine, user, 400, delete_messages=[WRONG_EMAIL])
    store.end_user(user.id)
    with Session(engine) as db:
        # Sessions, email tokens and identities go by ON DELETE CASCADE (SQLite: foreign_keys=ON
        # in db.make_engine); counters are keyed by the address, not the id.
        # Problem reports stay for the editors, without the reply address the reader gave.
        db.execute(
            update(ProblemReport)
            .where(col(ProblemReport.user_id) == user.id)
            .values(email="", user_id=None)
        )
        db.execute(delete(User).where(col(User.id) == user.id))
        db.commit()
    ratelimit.forget_account(engine, user.email)
    response = page(
        request,
        "Account deleted",
        "message.html",
        heading="Your account has been deleted",
        paragraphs=[
            f"We have deleted the account of {user.email} and everything stored with it.",
            "You can go on reading the free topics, or create a new account at any time.",
        ],
        link={"href": "/", "text": "Go to the home page"},
        signed_out=True,
    )
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
