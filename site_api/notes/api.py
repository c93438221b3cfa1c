"""Per-user page notes: JSON API under /api/notes, versioned so no save overwrites another."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from site_api.accounts.deps import CurrentUser
from site_api.accounts.users import utcnow
from site_api.db import save_versioned
from site_api.deps import API_ERRORS, NO_STORE, EngineDep, PageIdPath, api_error
from site_api.models import Note
from site_api.serving.pages import SiteIndex

MAX_CHARS = 2000
MAX_VERSION = 2**31 - 1  # fits every database's integer column
# The note text rules, stated in the schema as well as checked below: no control character but
# newline, carriage return and tab, and at least one character that is not white space.
_ALLOWED = r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"
TEXT_PATTERN = rf"^{_ALLOWED}*[^\s\x00-\x08\x0B\x0C\x0E-\x1F\x7F]{_ALLOWED}*$"
#: The same rule for text that may be empty (a CPD reflection's optional parts).
OPTIONAL_TEXT_PATTERN = rf"^{_ALLOWED}*$"


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: api_error("No such page, or no note on it.")}

router = APIRouter(prefix="/api/notes", tags=["notes"], responses=API_ERRORS)


def plain_text(value: str) -> str:
    """Text a reader typed, as it is kept: no control character but newline, carriage return and
    tab (ValueError), line ends as newlines. Notes and CPD reflections follow it."""
    if any(ord(c) < 0x20 and c not in "\n\r\t" or ord(c) == 0x7F for c in value):
        raise ValueError("control characters are not allowed")
    return value.replace("\r\n", "\n")


class NoteIn(BaseModel):
    """A save: the new text and the version it was based on (null for a new note)."""

    model_config = ConfigDict(extra="forbid")

    # The pattern is for the schema; `_plain_text` enforces the same rule with a clearer message.
    text: str = Field(
        min_length=1, max_length=MAX_CHARS, json_schema_extra={"pattern": TEXT_PATTERN}
    )
    # A save writes version + 1, which must fit too (PostgreSQL refuses an out-of-range integer).
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION - 1)

    @field_validator("text")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a note needs some text (delete it instead)")
        return plain_text(value)


class NoteOut(BaseModel):
    """A note as its owner sees it."""

    page_id: str
    text: str
    version: int
    created_at: datetime
    updated_at: datetime


class ListedNote(NoteOut):
    """A note in the owner's list, with where its page is now (if it still exists)."""

    title: str | None
    url: str | None
    page_exists: bool


class NotePage(BaseModel):
    """One page of the owner's notes, newest first."""

    items: list[ListedNote]
    total: int
    limit: int
    offset: int


class Conflict(BaseModel):
    """A save based on an old version: the text that is saved now, to show beside theirs."""

    detail: str
    current: NoteOut | None


def _out(note: Note) -> NoteOut:
    # Stored as naive UTC; sent with their zone so a browser's Date does not read local time.
    return NoteOut(
        page_id=note.page_id,
        text=note.text,
        version=note.version,
        created_at=note.created_at.replace(tzinfo=UTC),
        updated_at=note.updated_at.replace(tzinfo=UTC),
    )


def _json(model: BaseModel, status_code: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status_code, headers=NO_STORE)


def _conflict(engine: Engine, user_id: int, page_id: str) -> JSONResponse:
    current = find(engine, user_id, page_id)
    body = Conflict(
        detail="This note was changed elsewhere (another tab or device) since you opened it.",
        current=_out(current) if current else None,
    )
    return _json(body, 409)


def find(engine: Engine, user_id: int, page_id: str) -> Note | None:
    """The user's note on a page."""
    with Session(engine) as db:
        return db.exec(select(Note).where(Note.user_id == user_id, Note.page_id == page_id)).first()


def newest_first(engine: Engine, user_id: int) -> list[Note]:
    """Every note of a user, the most recently saved first."""
    with Session(engine) as db:
        return list(
            db.exec(
                select(Note)
                .where(Note.user_id == user_id)
                .order_by(col(Note.updated_at).desc(), col(Note.id).desc())
            ).all()
        )


def _known_page(request: Request, page_id: str) -> None:
    if page_id not in request.app.state.live.site.by_id:
        raise HTTPException(status_code=404, detail="There is no page with that id.")


def search(
    site: SiteIndex, engine: Engine, user_id: int, q: str, limit: int, offset: int
) -> tuple[list[ListedNote], int]:
    """A user's notes matching `q` (case-insensitive, in the text or the page title), newest first.

    Filtered in Python: SQLite's lower() knows only ASCII, and one reader's notes are few."""
    notes = newest_first(engine, user_id)
    needle = q.strip().casefold()
    listed = []
    for note in notes:
        page = site.by_id.get(note.page_id)
        title = page.meta.title if page else None
        if needle and needle not in note.text.casefold() and needle not in (title or "").casefold():
            continue
        listed.append(
            ListedNote(
                **_out(note).model_dump(),
                title=title,
                url=page.meta.url if page else None,
                page_exists=page is not None,
            )
        )
    return listed[offset : offset + limit], len(listed)


@router.get("", response_model=NotePage)
def list_notes(
    request: Request,
    user: CurrentUser,
    engine: EngineDep,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    """The signed-in user's notes, newest first; `q` searches their text and page titles."""
    assert user.id is not None
    items, total = search(request.app.state.live.site, engine, user.id, q, limit, offset)
    return _json(NotePage(items=items, total=total, limit=limit, offset=offset))


@router.get("/{page_id}", response_model=NoteOut, responses=NOT_FOUND)
def read_note(page_id: PageIdPath, user: CurrentUser, engine: EngineDep) -> JSONResponse:
    """The signed-in user's note on a page (404 when they have none)."""
    assert user.id is not None
    note = find(engine, user.id, page_id)
    if note is None:
        raise HTTPException(status_code=404, detail="You have no note on this page.")
    return _json(_out(note))


@router.put(
    "/{page_id}",
    response_model=NoteOut,
    responses={201: {"model": NoteOut}, 409: {"model": Conflict}, **NOT_FOUND},
)
def save_note(
    request: Request, page_id: PageIdPath, body: NoteIn, user: CurrentUser, engine: EngineDep
) -> JSONResponse:
    """Create (version null) or replace (the version it was based on) the note on a page."""
    assert user.id is not None
    _known_page(request, page_id)
    saved = save_versioned(
        engine,
        Note,
        {"user_id": user.id, "page_id": page_id},
        body.version,
        {"text": body.text},
        utcnow(),
    )
    if not saved:
        return _conflict(engine, user.id, page_id)
    created = body.version is None
    note = find(engine, user.id, page_id)
    assert note is not None
    return _json(_out(note), 201 if created else 200)


@router.delete("/{page_id}", status_code=204, responses={409: {"model": Conflict}, **NOT_FOUND})
def delete_note(
    page_id: PageIdPath,
    user: CurrentUser,
    engine: EngineDep,
    version: Annotated[int, Query(ge=1, le=MAX_VERSION)],
) -> Response:
    """Delete the note, if it is still the version the user saw."""
    assert user.id is not None
    with Session(engine) as db:
        result = db.execute(
            delete(Note).where(
                col(Note.user_id) == user.id,
                col(Note.page_id) == page_id,
                col(Note.version) == version,
            )
        )
        db.commit()
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return Response(status_code=204, headers=NO_STORE)
    if find(engine, user.id, page_id) is None:
        raise HTTPException(status_code=404, detail="You have no note on this page.")
    return _conflict(engine, user.id, page_id)


def export_rows(request: Request, engine: Engine, user_id: int) -> list[dict[str, Any]]:
    """Every note of a user with its page's title and URL, newest first (for downloads)."""
    site = request.app.state.live.site
    notes = newest_first(engine, user_id)
    rows = []
    for note in notes:
        page = site.by_id.get(note.page_id)
        rows.append(
            {
                "page_id": note.page_id,
                "title": page.meta.title if page else None,
                "url": page.meta.url if page else None,
                "text": note.text,
                "version": note.version,
                "created_at": note.created_at.isoformat(timespec="seconds") + "Z",
                "updated_at": note.updated_at.isoformat(timespec="seconds") + "Z",
            }
        )
    return rows
