"""FastAPI dependencies as `Annotated` aliases: settings, database, sessions, the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine
from sqlmodel import Session

from site_api import sessions
from site_api.config import Settings
from site_api.models import User
from site_api.views import Views


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def _store(request: Request) -> sessions.SessionStore:
    return request.app.state.sessions  # type: ignore[no-any-return]


def _views(request: Request) -> Views:
    return request.app.state.views  # type: ignore[no-any-return]


def _optional_user(request: Request) -> User | None:
    token = request.cookies.get(sessions.COOKIE)
    user_id = request.app.state.sessions.user_id(token) if token else None
    if user_id is None:
        return None
    with Session(request.app.state.engine) as db:
        return db.get(User, user_id)


def _current_user(user: Annotated[User | None, Depends(_optional_user)]) -> User:
    if user is None:
        raise HTTPException(status_code=401, detail="Sign in first.")
    return user


SettingsDep = Annotated[Settings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]
StoreDep = Annotated[sessions.SessionStore, Depends(_store)]
ViewsDep = Annotated[Views, Depends(_views)]
OptionalUser = Annotated[User | None, Depends(_optional_user)]
CurrentUser = Annotated[User, Depends(_current_user)]
