"""FastAPI dependencies for who the reader is: the session store and the signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlmodel import Session

from site_api.accounts import sessions
from site_api.models import User


def _store(request: Request) -> sessions.SessionStore:
    return request.app.state.sessions  # type: ignore[no-any-return]


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


StoreDep = Annotated[sessions.SessionStore, Depends(_store)]
OptionalUser = Annotated[User | None, Depends(_optional_user)]
CurrentUser = Annotated[User, Depends(_current_user)]
