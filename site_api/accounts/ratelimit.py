"""Attempt limits kept in the database, so every worker shares them (fixed windows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from site_api.accounts.users import AccountError, normalise_email, utcnow
from site_api.models import RateCounter


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


def account_key(action: str, email: str) -> str:
    """The counter key of an action for one account: `<action>:acct:<normalised address>`.

    Deleting an account removes every counter ending in `:<address>`."""
    try:
        address = normalise_email(email)
    except AccountError:
        address = email.strip().casefold()[:254]
    return f"{action}:acct:{address}"


def hit(engine: Engine, key: str, limit: Limit) -> None:
    """Count one attempt under `key`; raises `RateLimited` once the limit is used up."""
    for attempt in range(2):
        try:
            _hit(engine, key, limit)
            return
        except IntegrityError:  # another worker created the counter first: count on it
            if attempt:
                raise


def _hit(engine: Engine, key: str, limit: Limit) -> None:
    now = utcnow()
    with Session(engine) as db:
        row = db.get(RateCounter, key, with_for_update=True)
        if row is None or now - row.window_start >= limit.window:
            row = row or RateCounter(key=key, window_start=now, count=0)
            row.window_start, row.count = now, 0
        if row.count >= limit.attempts:
            remaining = limit.window - (now - row.window_start)
            raise RateLimited(max(int(remaining.total_seconds()) + 1, 1))
        row.count += 1
        db.add(row)
        db.commit()


def check(engine: Engine, key: str, limit: Limit) -> None:
    """Raise `RateLimited` if `key` has used up its limit, without counting an attempt."""
    now = utcnow()
    with Session(engine) as db:
        row = db.get(RateCounter, key)
    if row is not None and now - row.window_start < limit.window and row.count >= limit.attempts:
        remaining = limit.window - (now - row.window_start)
        raise RateLimited(max(int(remaining.total_seconds()) + 1, 1))


def reset(engine: Engine, key: str) -> None:
    """Forget the attempts under `key` (e.g. after a successful sign-in)."""
    with Session(engine) as db:
        row = db.get(RateCounter, key)
        if row is not None:
            db.delete(row)
            db.commit()
