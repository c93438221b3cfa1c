"""A reader's own shelf: saved topics and recently viewed topics, and the one read a topic's
notes panel makes (`GET /api/reader/<page id>`: who is reading, their note, whether it is saved).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from site_api.accounts.deps import CurrentUser, OptionalUser
from site_api.accounts.drafts import draft_key
from site_api.accounts.users import utcnow
from site_api.deps import API_ERRORS, NO_STORE, EngineDep, PageIdPath
from site_api.models import RecentTopic, SavedTopic
from site_api.notes.api import NOT_FOUND, NoteOut, _known_page, _out, find
from site_api.serving.pages import SiteIndex

RECENT_KEPT = 20

router = APIRouter(tags=["reader"], responses=API_ERRORS)


class ReaderState(BaseModel):
    """What a topic's notes panel needs: who is reading, their note, whether the topic is saved."""

    signed_in: bool
    note: NoteOut | None
    saved: bool
    cpd: bool  # whether the reader records reading for CPD (cpd.js reports time only then)
    # Where notes.js keeps this reader's unsaved note (localStorage): none for a signed-out reader.
    draft_key: str | None


class SavedState(BaseModel):
    """Whether the topic is on the reader's saved list now."""

    saved: bool


def is_saved(engine: Engine, user_id: int, page_id: str) -> bool:
    """Whether the reader saved this topic."""
    with Session(engine) as db:
        return (
            db.exec(
                select(SavedTopic.id).where(
                    SavedTopic.user_id == user_id, SavedTopic.page_id == page_id
                )
            ).first()
            is not None
        )


def record_view(engine: Engine, user_id: int, page_id: str) -> None:
    """Put a topic at the top of the reader's recently viewed list, keeping the newest few."""
    now = utcnow()
    with Session(engine) as db:
        row = db.exec(
            select(RecentTopic).where(
                RecentTopic.user_id == user_id, RecentTopic.page_id == page_id
            )
        ).first()
        if row is None:
            row = RecentTopic(user_id=user_id, page_id=page_id, viewed_at=now)
        row.viewed_at = now
        db.add(row)
        try:
            db.commit()
        except IntegrityError:  # the same reader opened it in another tab a moment ago
            db.rollback()
        old = db.exec(
            select(RecentTopic.id)
            .where(RecentTopic.user_id == user_id)
            .order_by(col(RecentTopic.viewed_at).desc(), col(RecentTopic.id).desc())
            .offset(RECENT_KEPT)
        ).all()
        if old:
            db.execute(delete(RecentTopic).where(col(RecentTopic.id).in_(old)))
            db.commit()


def clear_recent(engine: Engine, user_id: int) -> None:
    """Forget every topic the reader viewed."""
    with Session(engine) as db:
        db.execute(delete(RecentTopic).where(col(RecentTopic.user_id) == user_id))
        db.commit()


def _listed(site: SiteIndex, rows: list[tuple[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows as (page id, time) with the topic's current title and URL (gone topics kept, unlinked)."""
    out = []
    for page_id, when in rows:
        page = site.by_id.get(page_id)
        out.append(
            {
                "page_id": page_id,
                "title": page.meta.title if page else page_id,
                "url": page.meta.url if page else None,
                key: when.isoformat(timespec="seconds") + "Z",
            }
        )
    return out


def _shelf(
    site: SiteIndex, engine: Engine, table: type[SavedTopic] | type[RecentTopic], user_id: int
) -> list[dict[str, Any]]:
    """One of the reader's lists (saved or recently viewed topics), newest first."""
    when = col(SavedTopic.created_at) if table is SavedTopic else col(RecentTopic.viewed_at)
    with Session(engine) as db:
        rows = db.exec(
            select(col(table.page_id), when)
            .where(col(table.user_id) == user_id)
            .order_by(when.desc(), col(table.id).desc())
        ).all()
    return _listed(site, [(r[0], r[1]) for r in rows], "saved" if table is SavedTopic else "viewed")


def saved_topics(site: SiteIndex, engine: Engine, user_id: int) -> list[dict[str, Any]]:
    """The reader's saved topics, newest first."""
    return _shelf(site, engine, SavedTopic, user_id)


def recent_topics(site: SiteIndex, engine: Engine, user_id: int) -> list[dict[str, Any]]:
    """The topics the reader opened lately, newest first."""
    return _shelf(site, engine, RecentTopic, user_id)


@router.get("/api/reader/{page_id}", response_model=ReaderState, responses=NOT_FOUND)
def reader_state(
    request: Request, page_id: PageIdPath, user: OptionalUser, engine: EngineDep
) -> JSONResponse:
    """What a topic's notes panel needs, always 200 (no console error for anonymous readers):
    `{signed_in, note, saved, cpd, draft_key}`. A signed-in read also marks the topic recently
    viewed. deploy/nginx.conf gives the anonymous answer itself: keep the two alike."""
    if user is None or user.id is None:
        anonymous = {
            "signed_in": False,
            "note": None,
            "saved": False,
            "cpd": False,
            "draft_key": None,
        }
        return JSONResponse(anonymous, headers=NO_STORE)
    _known_page(request, page_id)
    note = find(engine, user.id, page_id)
    if user.keep_recent:
        record_view(engine, user.id, page_id)
    body = {
        "signed_in": True,
        "note": _out(note).model_dump(mode="json") if note else None,
        "saved": is_saved(engine, user.id, page_id),
        "cpd": user.cpd_on,
        "draft_key": draft_key("note", user.id, page_id),
    }
    return JSONResponse(body, headers=NO_STORE)


@router.put("/api/saved/{page_id}", response_model=SavedState, responses=NOT_FOUND)
def save_topic(
    request: Request, page_id: PageIdPath, user: CurrentUser, engine: EngineDep
) -> JSONResponse:
    """Save a topic (saving it again changes nothing); 404 for a page that does not exist."""
    assert user.id is not None
    _known_page(request, page_id)
    if not is_saved(engine, user.id, page_id):
        with Session(engine) as db:
            db.add(SavedTopic(user_id=user.id, page_id=page_id, created_at=utcnow()))
            try:
                db.commit()
            except IntegrityError:  # saved from another tab at the same moment
                db.rollback()
    return JSONResponse({"saved": True}, headers=NO_STORE)


@router.delete("/api/saved/{page_id}", response_model=SavedState)
def unsave_topic(page_id: PageIdPath, user: CurrentUser, engine: EngineDep) -> JSONResponse:
    """Take a topic off the reader's saved list."""
    assert user.id is not None
    with Session(engine) as db:
        db.execute(
            delete(SavedTopic).where(
                col(SavedTopic.user_id) == user.id, col(SavedTopic.page_id) == page_id
            )
        )
        db.commit()
    return JSONResponse({"saved": False}, headers=NO_STORE)
