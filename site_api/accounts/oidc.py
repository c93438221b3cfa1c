"""Signing in through an OpenID provider: which account an identity belongs to, and linking it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from site_api.accounts import users
from site_api.config import OidcProvider
from site_api.models import OidcIdentity, User, UserSession


class SignInRefused(Exception):
    """The provider's answer cannot sign anyone in; the message tells the reader why."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Claims:
    """What we use from the provider's answer about the person."""

    subject: str
    email: str
    email_verified: bool


def user_for(engine: Engine, provider: OidcProvider, claims: Claims) -> tuple[int, bool]:
    """The user this identity signs in (linked before, linked now, or new) and whether new."""
    with Session(engine) as db:
        identity = db.exec(
            select(OidcIdentity).where(
                OidcIdentity.provider == provider.name, OidcIdentity.subject == claims.subject
            )
        ).first()
        if identity is not None:
            return identity.user_id, False
    try:
        address = users.normalise_email(claims.email)
    except users.AccountError:
        raise SignInRefused(
            f"{provider.label} sent an email address we cannot use ({claims.email})."
        ) from None
    user = users.find_user(engine, address)
    created = False
    if user is None:
        try:
            user = users.create_user(engine, address, None, verified=claims.email_verified)
            created = True
        except users.AccountError:  # created by a concurrent request a moment ago
            user = users.find_user(engine, address)
            if user is None:
                raise
    if not created:
        _check_may_link(provider, claims, address)
    _link(engine, provider, claims, user)
    return _identity_owner(engine, provider, claims), created


def _check_may_link(provider: OidcProvider, claims: Claims, address: str) -> None:
    # Linking on an address the provider has not verified would let anyone who types someone
    # else's address at a lax provider take over their account here.
    if not claims.email_verified:
        raise SignInRefused(
            f"An account with {address} already exists here, and {provider.label} has not "
            "confirmed that this address is yours, so we have not connected them. Sign in with "
            "your email address and password instead.",
            status_code=409,
        )


def _link(engine: Engine, provider: OidcProvider, claims: Claims, user: User) -> None:
    """Record the identity for `user`; a verified address also proves the account is theirs."""
    assert user.id is not None
    now = users.utcnow()
    with Session(engine) as db:
        db.add(
            OidcIdentity(
                provider=provider.name, subject=claims.subject, user_id=user.id, created_at=now
            )
        )
        stored = db.get(User, user.id)
        if stored is not None and claims.email_verified and stored.email_verified_at is None:
            # Whoever set this account's password never proved the address was theirs (it may
            # have been registered in advance by someone else): the verified owner takes it over
            # alone. The password goes (they can set one by resetting it), and so do its sessions
            # (a process that saw one a moment ago forgets it within `session_cache_seconds`).
            stored.email_verified_at = now
            stored.password_hash = None
            db.add(stored)
            db.execute(delete(UserSession).where(col(UserSession.user_id) == user.id))
        try:
            db.commit()
        except IntegrityError:  # the same identity, linked by a concurrent callback
            db.rollback()


def _identity_owner(engine: Engine, provider: OidcProvider, claims: Claims) -> int:
    with Session(engine) as db:
        identity = db.exec(
            select(OidcIdentity).where(
                OidcIdentity.provider == provider.name, OidcIdentity.subject == claims.subject
            )
        ).one()
        return identity.user_id
