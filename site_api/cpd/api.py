"""The CPD log's JSON API: the reading-time beacon and reflections (versioned as notes are)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from site_api.accounts.deps import CurrentUser
from site_api.accounts.users import utcnow
from site_api.config import Settings
from site_api.cpd import log
from site_api.cpd.recorder import CpdRecorder
from site_api.db import save_versioned
from site_api.deps import API_ERRORS, NO_STORE, EngineDep, PageIdPath, SettingsDep, api_error
from site_api.models import CpdReflection
from site_api.notes.api import (
    MAX_CHARS,
    MAX_VERSION,
    OPTIONAL_TEXT_PATTERN,
    TEXT_PATTERN,
    plain_text,
)

#: A beacon is three short fields: anything longer is not ours.
BEACON_BYTES = 1024
#: The most seconds one beacon may say (a day); more is refused, less is clamped to the cap.
MAX_REPORTED = 86_400
BEACON_ERRORS: dict[int | str, dict[str, Any]] = {
    403: api_error("This reader does not record CPD (switch it on on the account page)."),
    404: api_error("There is no page with that id."),
    413: api_error("The beacon is over 1 KB."),
    429: api_error("Too many beacons from this reader in a minute."),
}
NO_ENTRY: dict[int | str, dict[str, Any]] = {
    404: api_error("No counted entry for that topic on that day (or no reflection on it).")
}

router = APIRouter(prefix="/api/cpd", tags=["cpd"], responses=API_ERRORS)


class Beacon(BaseModel):
    """What a topic page reports: this view of this page has been in the foreground for
    `seconds` so far (a total, so a repeated beacon adds nothing)."""

    model_config = ConfigDict(extra="forbid")

    page: PageIdPath
    view: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    seconds: float = Field(ge=0, le=MAX_REPORTED, allow_inf_nan=False)


class Credited(BaseModel):
    """How many seconds of the beacon were new reading (0: replayed, overlapping or capped)."""

    credited: int


class ReflectionIn(BaseModel):
    """A reflection: what was learned (required), how it changes practice, further learning;
    and the version it was based on (null for a new one)."""

    model_config = ConfigDict(extra="forbid")

    # The patterns are for the schema; the validators enforce the same rules with clearer words.
    learned: str = Field(
        min_length=1, max_length=MAX_CHARS, json_schema_extra={"pattern": TEXT_PATTERN}
    )
    change: str = Field(
        default="", max_length=MAX_CHARS, json_schema_extra={"pattern": OPTIONAL_TEXT_PATTERN}
    )
    further: str = Field(
        default="", max_length=MAX_CHARS, json_schema_extra={"pattern": OPTIONAL_TEXT_PATTERN}
    )
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION - 1)

    @field_validator("learned")
    @classmethod
    def _learned(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say what you learned (or delete the reflection)")
        return plain_text(value)

    @field_validator("change", "further")
    @classmethod
    def _optional(cls, value: str) -> str:
        return plain_text(value)


class ReflectionOut(BaseModel):
    """A reflection as its owner sees it."""

    page_id: str
    day: date
    learned: str
    change: str
    further: str
    version: int
    updated_at: datetime


class ReflectionConflict(BaseModel):
    """A save based on an old version: the reflection as saved now, to show beside theirs."""

    detail: str
    current: ReflectionOut | None


def _out(row: CpdReflection) -> ReflectionOut:
    return ReflectionOut(
        page_id=row.page_id,
        day=row.day,
        learned=row.learned,
        change=row.change,
        further=row.further,
        version=row.version,
        updated_at=row.updated_at.replace(tzinfo=UTC),
    )


def _json(model: BaseModel, status_code: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status_code, headers=NO_STORE)


async def _read_beacon(request: Request) -> Beacon:
    """The body, read no further than BEACON_BYTES, as a Beacon (413 or 422 otherwise)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > BEACON_BYTES:
            raise HTTPException(status_code=413, detail="The beacon is over 1 KB.")
    try:
        return Beacon.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = f"{where}: {first['msg']}".strip(": ")
        raise HTTPException(status_code=422, detail=message) from None


@router.post(
    "/beacon",
    response_model=Credited,
    responses=BEACON_ERRORS,
    # Read by hand (any content type, at most 1 KB): declared here so the schema says what it is.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": Beacon.model_json_schema()}},
        }
    },
)
async def beacon(request: Request, user: CurrentUser) -> JSONResponse:
    """Foreground reading time from a topic page (`navigator.sendBeacon`, any content type):
    credited in memory, written in batches; never more than real time or the cap."""
    assert user.id is not None
    report = await _read_beacon(request)
    recorder: CpdRecorder = request.app.state.cpd
    if not recorder.allow(user.id):
        raise HTTPException(status_code=429, detail="Too many beacons: at most 30 a minute.")
    if not user.cpd_on:
        raise HTTPException(status_code=403, detail="You do not record reading for CPD.")
    if report.page not in request.app.state.live.site.by_id:
        raise HTTPException(status_code=404, detail="There is no page with that id.")
    credited = recorder.report(user.id, report.page, report.view, report.seconds)
    return _json(Credited(credited=credited))


def draft_key(user_id: int, page_id: str, day: date) -> str:
    """Where a browser keeps an unsaved reflection (localStorage): one per reader and entry, so
    a second reader on the same browser is never offered the first one's text."""
    return f"cpd-draft:{user_id}:{day.isoformat()}:{page_id}"


class LatestEntry(BaseModel):
    """The reader's latest counted entry on a topic, for the reflection form in the topic's
    panel: its reflection (to edit, with the version a save is based on) and its draft key."""

    page_id: str
    day: date
    claimed: bool
    reflect_url: str
    reflection: ReflectionOut | None
    draft_key: str


class EntryState(BaseModel):
    """Always 200: the latest counted entry on the topic, or null."""

    entry: LatestEntry | None


@router.get("/entries/{page_id}", response_model=EntryState)
def latest_entry(
    request: Request,
    page_id: PageIdPath,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
) -> JSONResponse:
    """The reader's most recent counted entry on a topic (cpd.js offers its reflection form in
    the topic's panel)."""
    assert user.id is not None
    site = request.app.state.live.site
    found = [
        e for e in log.entries(site, engine, user.id, log.Rule.of(settings)) if e.page_id == page_id
    ]
    if not found:
        return _json(EntryState(entry=None))
    latest = found[0]  # newest first
    entry = LatestEntry(
        page_id=latest.page_id,
        day=latest.day,
        claimed=latest.claimed,
        reflect_url=latest.reflect_href,
        reflection=_out(latest.reflection) if latest.reflection else None,
        draft_key=draft_key(user.id, latest.page_id, latest.day),
    )
    return _json(EntryState(entry=entry))


def find_reflection(engine: Engine, user_id: int, page_id: str, day: date) -> CpdReflection | None:
    """The reader's reflection on one entry."""
    with Session(engine) as db:
        return db.exec(
            select(CpdReflection).where(
                CpdReflection.user_id == user_id,
                CpdReflection.page_id == page_id,
                CpdReflection.day == day,
            )
        ).first()


def save_reflection(
    engine: Engine, user_id: int, page_id: str, day: date, body: ReflectionIn
) -> bool:
    """Create or replace a reflection; False when it changed elsewhere since `body.version`."""
    return save_versioned(
        engine,
        CpdReflection,
        {"user_id": user_id, "page_id": page_id, "day": day},
        body.version,
        {"learned": body.learned, "change": body.change, "further": body.further},
        utcnow(),
    )


def delete_reflection(engine: Engine, user_id: int, page_id: str, day: date, version: int) -> bool:
    """Delete a reflection if it is still at `version`."""
    with Session(engine) as db:
        result = db.execute(
            delete(CpdReflection).where(
                col(CpdReflection.user_id) == user_id,
                col(CpdReflection.page_id) == page_id,
                col(CpdReflection.day) == day,
                col(CpdReflection.version) == version,
            )
        )
        db.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _conflict(engine: Engine, user_id: int, page_id: str, day: date) -> JSONResponse:
    current = find_reflection(engine, user_id, page_id, day)
    body = ReflectionConflict(
        detail="This reflection was changed elsewhere (another tab or device) since you opened it.",
        current=_out(current) if current else None,
    )
    return _json(body, 409)


DayPath = Annotated[date, Path(description="The entry's day (UTC), YYYY-MM-DD.")]


def _counted(
    request: Request, engine: Engine, settings: Settings, user_id: int, page_id: str, day: date
) -> None:
    site = request.app.state.live.site
    if log.find_entry(site, engine, user_id, log.Rule.of(settings), page_id, day) is None:
        raise HTTPException(
            status_code=404, detail="There is no counted entry for that topic on that day."
        )


@router.put(
    "/reflections/{day}/{page_id}",
    response_model=ReflectionOut,
    responses={201: {"model": ReflectionOut}, 409: {"model": ReflectionConflict}, **NO_ENTRY},
)
def put_reflection(
    request: Request,
    day: DayPath,
    page_id: PageIdPath,
    body: ReflectionIn,
    user: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Reflect on a counted entry (version null) or change the reflection (its version)."""
    assert user.id is not None
    _counted(request, engine, settings, user.id, page_id, day)
    if not save_reflection(engine, user.id, page_id, day, body):
        return _conflict(engine, user.id, page_id, day)
    row = find_reflection(engine, user.id, page_id, day)
    assert row is not None
    return _json(_out(row), 201 if body.version is None else 200)


@router.delete(
    "/reflections/{day}/{page_id}",
    status_code=204,
    responses={409: {"model": ReflectionConflict}, **NO_ENTRY},
)
def remove_reflection(
    day: DayPath,
    page_id: PageIdPath,
    user: CurrentUser,
    engine: EngineDep,
    version: Annotated[int, Query(ge=1, le=MAX_VERSION)],
) -> Response:
    """Delete the reflection (the entry stays, unclaimed), if it is still the version seen."""
    assert user.id is not None
    if delete_reflection(engine, user.id, page_id, day, version):
        return Response(status_code=204, headers=NO_STORE)
    if find_reflection(engine, user.id, page_id, day) is None:
        raise HTTPException(status_code=404, detail="You have no reflection on that entry.")
    return _conflict(engine, user.id, page_id, day)
