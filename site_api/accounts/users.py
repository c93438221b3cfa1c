"""Local accounts: email normalisation, the password rules (NIST SP 800-63B), argon2id hashes."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from functools import cache

from email_validator import EmailNotValidError, validate_email
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from site_api.models import User

MIN_PASSWORD = 10
MAX_PASSWORD = 256
#: What an account may be: a reader (everyone who signs up) or an editor (set on the command line).
ROLES = ("reader", "editor")
_hasher = PasswordHash((Argon2Hasher(),))


@cache
def _dummy_hash() -> str:
    """What unknown addresses are checked against, so a failed sign-in costs the same either
    way; made on first use, not at import (an argon2 hash: 0.17 s of every server start)."""
    return _hasher.hash("not-a-password-anyone-has-0")


class AccountError(ValueError):
    """Input a person can correct; the message says how."""


def utcnow() -> datetime:
    """Naive UTC, the convention of every stored time."""
    return datetime.now(UTC).replace(tzinfo=None)


def normalise_email(value: str) -> str:
    """The address in the one form we store and compare (domain and local part lower-cased)."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(f"That email address is not valid: {exc}") from None
    return checked.normalized.casefold()


@cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.casefold() for p in FREQUENCY_LISTS["passwords"])


def check_password(password: str, email: str = "") -> None:
    """NIST SP 800-63B: length, no composition rules, refuse common and context passwords."""
    password = unicodedata.normalize("NFKC", password)
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Use at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"Use at most {MAX_PASSWORD} characters.")
    folded = password.casefold()
    local = email.partition("@")[0].casefold()
    if folded in _common_passwords() or len(set(folded)) < 3:
        raise AccountError("That password is too common: choose one that is harder to guess.")
    if (local and len(local) >= 4 and local in folded) or "clinicalnotebook" in folded:
        raise AccountError("Don't build the password from your email address or the site's name.")


def hash_password(password: str) -> str:
    """An argon2id hash."""
    return _hasher.hash(unicodedata.normalize("NFKC", password))


def verify_password(password: str, stored: str | None) -> bool:
    """Constant work whether or not the account (or its password) exists."""
    # Made before the account is looked at: the first check in a process costs one hash more
    # whatever the answer, so even that one tells nothing.
    dummy = _dummy_hash()
    ok = _hasher.verify(unicodedata.normalize("NFKC", password), stored or dummy)
    return ok and stored is not None


def find_user(engine: Engine, email: str) -> User | None:
    """The account with this (normalised) address."""
    with Session(engine) as db:
        return db.exec(select(User).where(func.lower(User.email) == email.casefold())).first()


def create_user(
    engine: Engine,
    email: str,
    password: str | None,
    *,
    verified: bool = False,
    editor: bool = False,
) -> User:
    """A new account; raises `AccountError` if the address is taken or the password weak."""
    email = normalise_email(email)
    if password is not None:
        check_password(password, email)
    now = utcnow()
    user = User(
        email=email,
        created_at=now,
        password_hash=hash_password(password) if password is not None else None,
        email_verified_at=now if verified else None,
        role="editor" if editor else "reader",
    )
    with Session(engine) as db:
        if db.exec(select(User.id).where(User.email == email)).first() is not None:
            raise AccountError("An account with that email address already exists.")
        db.add(user)
        db.commit()
        db.refresh(user)
    return user


def set_role(engine: Engine, email: str, role: str) -> User:
    """Give an account a role (`ROLES`); the command line is the only way to become an editor."""
    if role not in ROLES:
        raise AccountError(f"Role must be one of {', '.join(ROLES)}, not {role!r}.")
    with Session(engine) as db:
        user = db.exec(
            select(User).where(func.lower(User.email) == normalise_email(email).casefold())
        ).first()
        if user is None:
            raise AccountError(f"There is no account for {email}.")
        user.role = role
        db.add(user)
        db.commit()
        db.refresh(user)
    return user


def is_editor(user: User | None) -> bool:
    """Whether the account may use the editorial desk."""
    return user is not None and user.role == "editor"


def authenticate(engine: Engine, email: str, password: str) -> User | None:
    """The user if the password is right; pays the hashing cost for unknown addresses too."""
    try:
        user = find_user(engine, normalise_email(email))
    except AccountError:
        user = None
    stored = user.password_hash if user else None
    return user if verify_password(password, stored) and user else None
