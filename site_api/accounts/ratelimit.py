"""Attempt limits kept in the database, so every worker shares them (fixed windows).

An attempt is counted *before* the work it guards (an argon2 check, a mail), in one atomic
`INSERT … ON CONFLICT DO UPDATE … RETURNING count`, and refused when the count it returns is over
the limit: of any number of parallel attempts exactly `attempts` get through, on SQLite and
PostgreSQL alike. Keys are stored as a SHA-256 digest of the readable key, so no input length
or character (a 10,000-character address, a NUL) reaches the column.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Engine, case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from site_api.accounts.users import AccountError, normalise_email, utcnow
from site_api.models import RateCounter

#: Every action counted per account; deleting an account forgets the counters of each.
AccountAction = Literal["sign-in", "create-account", "account", "verify-resend", "forgot-password"]
ACCOUNT_ACTIONS: tuple[AccountAction, ...] = (
    "sign-in",
    "create-account",
    "account",
    "verify-resend",
    "forgot-password",
)


@dataclass(frozen=True)
class Limit:
    """At most `attempts` per `window` for one key."""

    attempts: int
    window: timedelta


class RateLimited(Exception):
    """Too many attempts; `retry_after` seconds until the window ends."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def digest(key: str) -> str:
    """The stored form of a key: 64 hex characters whatever the key holds."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def account_key(action: AccountAction, email: str) -> str:
    """The readable key of an action for one account: `<action>:acct:<normalised address>`."""
    try:
        address = normalise_email(email)
    except AccountError:
        # Not an address anyone has: still counted, so invalid input is no way round the limit.
        address = email.strip().casefold()
    return f"{action}:acct:{address}"


def hit(engine: Engine, key: str, limit: Limit) -> None:
    """Count one attempt under `key`; raises `RateLimited` when it is over the limit."""
    now = utcnow()
    count, window_start = _count(engine, digest(key), now, now - limit.window)
    if count > limit.attempts:
        remaining = limit.window - (now - window_start)
        raise RateLimited(max(int(remaining.total_seconds()) + 1, 1))


def _count(engine: Engine, key: str, now: datetime, expired: datetime) -> tuple[int, datetime]:
    table = RateCounter.__table__  # type: ignore[attr-defined]
    insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert
    statement = insert(table).values(key=key, window_start=now, count=1)
    # A window that has run out starts again at this attempt. SET expressions read the old row.
    lapsed = table.c.window_start <= expired
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((lapsed, 1), else_=table.c.count + 1),
            "window_start": case((lapsed, now), else_=table.c.window_start),
        },
    ).returning(table.c.count, table.c.window_start)
    with engine.begin() as connection:
        count, window_start = connection.execute(statement).one()
    return int(count), window_start


def give_back(engine: Engine, key: str) -> None:
    """Uncount one attempt that succeeded: only failures use up a limit like sign-in's."""
    with Session(engine) as db:
        db.execute(
            update(RateCounter)
            .where(col(RateCounter.key) == digest(key), col(RateCounter.count) > 0)
            .values(count=col(RateCounter.count) - 1)
        )
        db.commit()


def reset(engine: Engine, key: str) -> None:
    """Forget the attempts under `key` (e.g. after the password was reset by email)."""
    forget(engine, [key])


def forget(engine: Engine, keys: Iterable[str]) -> None:
    """Forget the attempts under every one of `keys`."""
    digests = [digest(k) for k in keys]
    with Session(engine) as db:
        db.execute(delete(RateCounter).where(col(RateCounter.key).in_(digests)))
        db.commit()


def forget_account(engine: Engine, email: str) -> None:
    """Forget every per-account counter of an address (its account is being deleted)."""
    forget(engine, [account_key(action, email) for action in ACCOUNT_ACTIONS])
