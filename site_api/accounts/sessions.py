"""Server-side sessions: an opaque token in a cookie, its hash in the database."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlmodel import Session, col

from site_api.models import User, UserSession

COOKIE = "session"
# Writing last_seen on every view would make each signed-in page view a database write.
_TOUCH_EVERY = timedelta(minutes=1)
# Only live sessions are cached, so random tokens cannot fill it; past this it starts again.
_CACHE_LIMIT = 50_000


@dataclass(frozen=True)
class Reader:
    """Who a live session belongs to, as far as page views care."""

    user_id: int
    verified: bool
    email: str = ""  # shown in the header's account menu
    editor: bool = False  # the menu links to the editorial desk


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class SessionStore:
    """Creates, finds and ends sessions; idle and absolute lifetimes from settings.

    A live session found in the database is remembered in this process for `cache_seconds`
    (never past its own expiry), so a signed-in page view is usually no database round trip.
    Ending a session here forgets it at once; another process notices within `cache_seconds`.
    """

    def __init__(
        self, engine: Engine, idle: timedelta, absolute: timedelta, cache_seconds: float = 5.0
    ) -> None:
        self.engine = engine
        self.idle = idle
        self.absolute = absolute
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Reader, float]] = {}

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

    def cached(self, token: str) -> Reader | None:
        """The reader of a session this process saw live a moment ago, without I/O; else None."""
        hit = self._cache.get(_hash(token))
        if hit is None:
            return None
        if hit[1] < time.monotonic():
            self._cache.pop(_hash(token), None)
            return None
        return hit[0]

    def trusted_for(self, token: str) -> float:
        """Seconds this process will still trust the session from memory without asking the
        database (0 if it is not remembered): how long a cache in front may reuse the answer,
        so nginx's cache and this one end together instead of one after the other."""
        hit = self._cache.get(_hash(token))
        return max(0.0, hit[1] - time.monotonic()) if hit is not None else 0.0

    def user_id(self, token: str | None) -> int | None:
        """The user a live session token belongs to; expired sessions are deleted."""
        reader = self.lookup(token)
        return reader.user_id if reader else None

    def lookup(self, token: str | None) -> Reader | None:
        """Who a live session token belongs to; expired sessions are deleted."""
        if not token or len(token) > 128:
            return None
        key = _hash(token)
        now = _now()
        table = UserSession.__table__  # type: ignore[attr-defined]
        users = User.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as db:
            row = db.execute(
                select(
                    table.c.user_id,
                    table.c.created_at,
                    table.c.last_seen,
                    users.c.email_verified_at,
                    users.c.email,
                    users.c.role,
                )
                .join(users, users.c.id == table.c.user_id)
                .where(table.c.token_hash == key)
            ).first()
            if row is None:
                return None
            user_id, created, seen, verified_at, email, role = row
            idle_end, absolute_end = seen + self.idle, created + self.absolute
            if now >= idle_end or now >= absolute_end:
                db.execute(delete(table).where(table.c.token_hash == key))
                db.commit()
                return None
            if now - seen > _TOUCH_EVERY:
                db.execute(update(table).where(table.c.token_hash == key).values(last_seen=now))
                db.commit()
                idle_end = now + self.idle
        lifetime = min(idle_end, absolute_end) - now
        reader = Reader(int(user_id), verified_at is not None, str(email), role == "editor")
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = (
            reader,
            time.monotonic() + min(self.cache_seconds, lifetime.total_seconds()),
        )
        return reader

    def end_user(self, user_id: int, keep: str | None = None) -> None:
        """End every session of a user (except the one whose token is `keep`), here at once."""
        keep_hash = _hash(keep) if keep else ""
        with Session(self.engine) as db:
            db.execute(
                delete(UserSession).where(
                    col(UserSession.user_id) == user_id, col(UserSession.token_hash) != keep_hash
                )
            )
            db.commit()
        for key, (reader, _) in list(self._cache.items()):
            if reader.user_id == user_id and key != keep_hash:
                self._cache.pop(key, None)

    def end(self, token: str) -> None:
        """Sign out: delete the session."""
        self._cache.pop(_hash(token), None)
        with Session(self.engine) as db:
            db.execute(delete(UserSession).where(col(UserSession.token_hash) == _hash(token)))
            db.commit()
