"""SQLModel tables. Every change arrives with an Alembic revision in `migrations/versions/`.

Times are naive UTC: SQLite keeps no time zone, so one convention serves both databases.
"""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    """A reader's account; sign-in methods and profile arrive with the accounts feature."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    created_at: NaiveDatetime


class UserSession(SQLModel, table=True):
    """A server-side session: only the hash of the cookie's token is stored."""

    __tablename__ = "user_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: NaiveDatetime
    last_seen: NaiveDatetime
