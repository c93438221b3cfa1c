"""SQLModel tables. Every change arrives with an Alembic revision in `migrations/versions/`.

Times are naive UTC: SQLite keeps no time zone, so one convention serves both databases.
"""

from __future__ import annotations

from datetime import date

from pydantic import NaiveDatetime
from sqlalchemy import Text
from sqlmodel import Field, SQLModel, UniqueConstraint


class User(SQLModel, table=True):
    """A reader's account. `password_hash` is empty for accounts that only use single sign-on."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    created_at: NaiveDatetime
    password_hash: str | None = Field(default=None, max_length=255)
    email_verified_at: NaiveDatetime | None = None
    role: str = Field(default="reader", max_length=16)  # accounts.users.ROLES
    keep_recent: bool = True  # whether the account page lists the topics read lately
    cpd_on: bool = False  # whether topics read are logged for CPD (site_api.cpd)
    cpd_name: str = Field(default="", max_length=200)  # the name on the CPD certificate
    cpd_registration: str = Field(default="", max_length=50)  # e.g. a GMC number, if given


class UserSession(SQLModel, table=True):
    """A server-side session: only the hash of the cookie's token is stored."""

    __tablename__ = "user_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: NaiveDatetime
    last_seen: NaiveDatetime


class EmailToken(SQLModel, table=True):
    """A single-use token sent by email (verify the address, reset the password), stored hashed."""

    __tablename__ = "email_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    purpose: str = Field(max_length=16)
    expires_at: NaiveDatetime
    used_at: NaiveDatetime | None = None


class OidcIdentity(SQLModel, table=True):
    """A user's identity at an OpenID provider: (provider, subject) is theirs alone."""

    __tablename__ = "oidc_identity"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=64)
    subject: str = Field(max_length=255)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: NaiveDatetime


class RateCounter(SQLModel, table=True):
    """Attempts under one key (e.g. sign-in attempts for an account) in a fixed window.

    `key` is the SHA-256 digest of the readable key (`ratelimit.digest`), so its length is fixed."""

    __tablename__ = "rate_counter"

    key: str = Field(primary_key=True, max_length=64)
    window_start: NaiveDatetime
    count: int = 0


class Note(SQLModel, table=True):
    """A reader's own note on one page, keyed by the page's stable id (survives moves)."""

    __table_args__ = (UniqueConstraint("user_id", "page_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    page_id: str = Field(max_length=64)
    text: str = Field(sa_type=Text)
    version: int = 1
    created_at: NaiveDatetime
    updated_at: NaiveDatetime = Field(index=True)


class SearchMiss(SQLModel, table=True):
    """How often readers searched for a (normalised) query and found nothing, per day.

    No reader, session or address: an aggregate for editors, gathered in memory per worker.
    """

    __tablename__ = "search_miss"

    day: date = Field(primary_key=True)
    query: str = Field(primary_key=True, max_length=100)
    count: int = 0


class Share(SQLModel, table=True):
    """A share link a reader made for one page: its token is signed, this row makes it
    revocable (`revoked_at`) and counts the reader's links per day."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    page_id: str = Field(max_length=64)
    created_at: NaiveDatetime = Field(index=True)
    expires_at: NaiveDatetime
    revoked_at: NaiveDatetime | None = None


class ProblemReport(SQLModel, table=True):
    """A reader's report of something wrong in a topic, for the editors (plain text, inert)."""

    __tablename__ = "problem_report"

    id: int | None = Field(default=None, primary_key=True)
    page_id: str = Field(max_length=64, index=True)
    what: str = Field(sa_type=Text)
    reference: str = Field(default="", max_length=500)
    email: str = Field(default="", max_length=320)
    # A report outlives its reporter's account: the editors still need to read it.
    user_id: int | None = Field(
        default=None, foreign_key="user.id", index=True, ondelete="SET NULL"
    )
    created_at: NaiveDatetime
    status: str = Field(default="new", max_length=16, index=True)  # editorial.reports.STATUSES
    remark: str = Field(default="", sa_type=Text)  # the editors' own, never shown to the reader


class SavedTopic(SQLModel, table=True):
    """A topic a reader saved to find again (by page id, which survives moves)."""

    __tablename__ = "saved_topic"
    __table_args__ = (UniqueConstraint("user_id", "page_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    page_id: str = Field(max_length=64)
    created_at: NaiveDatetime


class RecentTopic(SQLModel, table=True):
    """A topic a reader opened lately (the newest few per reader are kept)."""

    __tablename__ = "recent_topic"
    __table_args__ = (UniqueConstraint("user_id", "page_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    page_id: str = Field(max_length=64)
    viewed_at: NaiveDatetime


class FunnelCount(SQLModel, table=True):
    """How often one meter funnel event happened on one page on one day (UTC).

    No visitor, address, user agent, session or meter token: an aggregate gathered in memory
    per worker (serving.funnel) and added here in batches.
    """

    __tablename__ = "funnel_count"

    day: date = Field(primary_key=True)
    page_id: str = Field(primary_key=True, max_length=64)
    event: str = Field(primary_key=True, max_length=32)
    count: int = 0


class CpdReading(SQLModel, table=True):
    """Foreground seconds one reader spent on one topic on one UTC day (site_api.cpd).

    Added in batches from each worker's memory, never above `SITE_CPD_MAX_SECONDS`; the entry
    counts for CPD once `seconds` reaches `SITE_CPD_MIN_SECONDS`."""

    __tablename__ = "cpd_reading"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    page_id: str = Field(primary_key=True, max_length=64)
    day: date = Field(primary_key=True)
    seconds: int = 0


class CpdReflection(SQLModel, table=True):
    """A reader's reflection on one logged entry (user, topic, day): it makes the entry claimed.

    Versioned as notes are, so no save overwrites another."""

    __tablename__ = "cpd_reflection"
    __table_args__ = (UniqueConstraint("user_id", "page_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    page_id: str = Field(max_length=64)
    day: date
    learned: str = Field(sa_type=Text)
    change: str = Field(default="", sa_type=Text)
    further: str = Field(default="", sa_type=Text)
    version: int = 1
    created_at: NaiveDatetime
    updated_at: NaiveDatetime
