"""Single-use emailed tokens (verify an address, reset a password), stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Literal

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col

from site_api.accounts.users import utcnow
from site_api.models import EmailToken

Purpose = Literal["verify", "reset"]
LIFETIME: dict[str, timedelta] = {"verify": timedelta(hours=24), "reset": timedelta(hours=1)}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(engine: Engine, user_id: int, purpose: Purpose) -> str:
    """A new token for the link in an email; earlier unused ones of the same purpose lapse."""
    token = secrets.token_urlsafe(32)
    with Session(engine) as db:
        db.execute(
            delete(EmailToken).where(
                col(EmailToken.user_id) == user_id, col(EmailToken.purpose) == purpose
            )
        )
        db.add(
            EmailToken(
                token_hash=_hash(token),
                user_id=user_id,
                purpose=purpose,
                expires_at=utcnow() + LIFETIME[purpose],
            )
        )
        db.commit()
    return token


def revoke(engine: Engine, user_id: int, purpose: Purpose = "reset") -> None:
    """End every unused token of a user for `purpose`: the account changed since they were sent."""
    with Session(engine) as db:
        db.execute(
            delete(EmailToken).where(
                col(EmailToken.user_id) == user_id,
                col(EmailToken.purpose) == purpose,
                col(EmailToken.used_at).is_(None),
            )
        )
        db.commit()


def _live(row: EmailToken, purpose: Purpose) -> bool:
    return row.purpose == purpose and row.used_at is None and row.expires_at > utcnow()


def peek(engine: Engine, token: str, purpose: Purpose) -> int | None:
    """The user a live token was issued to, leaving it unused (to show the form it leads to)."""
    if not token or len(token) > 128:
        return None
    with Session(engine) as db:
        row = db.get(EmailToken, _hash(token))
        return row.user_id if row is not None and _live(row, purpose) else None


def consume(engine: Engine, token: str, purpose: Purpose) -> int | None:
    """The user a live token was issued to, marking it used; None if unknown, used or expired."""
    if not token or len(token) > 128:
        return None
    key, now = _hash(token), utcnow()
    with Session(engine) as db:
        # One conditional UPDATE: of two requests racing with the same link, only one wins.
        spent = db.execute(
            update(EmailToken)
            .where(
                col(EmailToken.token_hash) == key,
                col(EmailToken.purpose) == purpose,
                col(EmailToken.used_at).is_(None),
                col(EmailToken.expires_at) > now,
            )
            .values(used_at=now)
        )
        db.commit()
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = db.get(EmailToken, key)
        return row.user_id if row is not None else None
