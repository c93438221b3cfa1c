"""Share links' JSON API: POST /api/shares, GET /api/shares, DELETE /api/shares/{id}."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from site_api.accounts.deps import CurrentUser
from site_api.accounts.users import utcnow
from site_api.deps import API_ERRORS, NO_STORE, EngineDep, api_error
from site_api.deps import PageIdPath as PageId
from site_api.models import Share
from site_api.serving.pages import SiteIndex
from site_api.serving.shares import PARAM, ShareTokens

#: The errors these routes answer, each with the body it really has.
SHARE_ERRORS: dict[int | str, dict[str, Any]] = {
    **API_ERRORS,
    404: api_error("No such page, or no such share link."),
    429: api_error("Over the day's share links."),
}

router = APIRouter(prefix="/api/shares", tags=["shares"], responses=SHARE_ERRORS)


class ShareIn(BaseModel):
    """Which page to share."""

    model_config = ConfigDict(extra="forbid")

    page_id: PageId


class ShareOut(BaseModel):
    """A share link as its creator sees it."""

    id: int
    page_id: str
    title: str | None
    url: str | None  # the link to send (only while it works)
    created_at: datetime
    expires_at: datetime
    revoked: bool
    active: bool


def tokens(request: Request) -> ShareTokens:
    """The app's share token signer."""
    return request.app.state.share_tokens  # type: ignore[no-any-return]


def share_out(request: Request, row: Share, now: datetime) -> ShareOut:
    """A row as the API shows it, with the link while it is live."""
    site: SiteIndex = request.app.state.live.site
    page = site.by_id.get(row.page_id)
    active = row.revoked_at is None and row.expires_at > now and page is not None
    url = None
    if active and page is not None:
        assert row.id is not None
        expires = int((row.expires_at - datetime(1970, 1, 1)).total_seconds())
        token = tokens(request).token(row.id, row.user_id, row.page_id, expires)
        url = f"{request.app.state.settings.public_url}{page.meta.url}?{PARAM}={token}"
    assert row.id is not None
    return ShareOut(
        id=row.id,
        page_id=row.page_id,
        title=page.meta.title if page else None,
        url=url,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked=row.revoked_at is not None,
        active=active,
    )


def created_today(engine: Engine, user_id: int, now: datetime) -> int:
    """How many links the reader made in the last 24 hours."""
    with Session(engine) as db:
        return db.exec(
            select(func.count()).where(
                col(Share.user_id) == user_id, col(Share.created_at) > now - timedelta(days=1)
            )
        ).one()


def list_shares(engine: Engine, user_id: int, limit: int | None = 200) -> list[Share]:
    """The reader's links, newest first (`limit=None`: all of them, for the data export)."""
    query = (
        select(Share)
        .where(col(Share.user_id) == user_id)
        .order_by(col(Share.created_at).desc(), col(Share.id).desc())
    )
    with Session(engine) as db:
        return list(db.exec(query if limit is None else query.limit(limit)).all())


def revoke(engine: Engine, user_id: int, share_id: int) -> bool:
    """Revoke one of the reader's links; False if it is not theirs (or does not exist)."""
    with Session(engine) as db:
        row = db.get(Share, share_id)
        if row is None or row.user_id != user_id:
            return False
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            db.add(row)
            db.commit()
        return True


@router.post("", status_code=201)
def create(
    body: ShareIn, request: Request, engine: EngineDep, user: CurrentUser, response: Response
) -> ShareOut:
    """Make a share link for a metered page (at most `SITE_SHARES_PER_DAY` a day)."""
    settings = request.app.state.settings
    response.headers.update(NO_STORE)
    page = request.app.state.live.site.by_id.get(body.page_id)
    if page is None:
        raise HTTPException(404, "No such page.")
    if page.meta.access != "metered":
        raise HTTPException(422, "This page is free to read: share its address as it is.")
    assert user.id is not None
    now = utcnow()
    if created_today(engine, user.id, now) >= settings.shares_per_day:
        raise HTTPException(
            429, f"You can make {settings.shares_per_day} share links a day. Try again tomorrow."
        )
    row = Share(
        user_id=user.id,
        page_id=page.meta.id,
        created_at=now,
        expires_at=now.replace(microsecond=0) + timedelta(days=settings.share_days),
    )
    with Session(engine) as db:
        db.add(row)
        db.commit()
        db.refresh(row)
    return share_out(request, row, now)


@router.get("")
def mine(
    request: Request, engine: EngineDep, user: CurrentUser, response: Response
) -> list[ShareOut]:
    """The reader's share links, newest first."""
    response.headers.update(NO_STORE)
    assert user.id is not None
    now = utcnow()
    return [share_out(request, row, now) for row in list_shares(engine, user.id)]


@router.delete("/{share_id}", status_code=204)
def delete(share_id: int, engine: EngineDep, user: CurrentUser) -> Response:
    """Revoke a link: it opens nothing from now on."""
    assert user.id is not None
    if not 0 < share_id < 2**31 or not revoke(engine, user.id, share_id):
        raise HTTPException(404, "No such share link.")
    return Response(status_code=204, headers=NO_STORE)
