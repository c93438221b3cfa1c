"""Server-side sessions: an opaque token in a cookie, its hash in the database."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from site_api.models import UserSession

COOKIE = "session"
# Writing last_seen on every view would make each signed-in page view a database write.
_TOUCH_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class SessionStore:
    """Creates, finds and ends sessions; idle and absolute lifetimes from settings."""

    def __init__(self, engine: Engine, idle: timedelta, absolute: timedelta) -> None:
        self.engine = engine
        self.idle = idle
        self.absolute = absolute

    def create(self, user_id: int) -> str:
        """Start a session for a user; returns the token for the cookie (never stored)."""
        token = secrets.token_urlsafe(32)
        now = _now()
        with Session(self.engine) as db:
            db.add(
                UserSession(token_hash=_hash(token), user_id=user_id, created_at=now, last_seen=now)
            )
            db.commit()
        return token

    def user_id(self, token: str | None) -> int | None:
        """The user a live session token belongs to; expired sessions are deleted."""
        if not token or len(token) > 128:
            return None
        now = _now()
        with Session(self.engine) as db:
            row = db.exec(select(UserSession).where(UserSession.token_hash == _hash(token))).first()
            if row is None:
                return None
            if now - row.last_seen > self.idle or now - row.created_at > self.absolute:
                db.delete(row)
                db.commit()
                return None
            if now - row.last_seen > _TOUCH_EVERY:
                row.last_seen = now
                db.add(row)
                db.commit()
            return row.user_id

    def end(self, token: str) -> None:
        """Sign out: delete the session."""
        with Session(self.engine) as db:
            db.execute(delete(UserSession).where(col(UserSession.token_hash) == _hash(token)))
            db.commit()
