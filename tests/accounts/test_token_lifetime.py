"""A change to an account ends the password-reset links sent before it (both databases)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from visitors import csrf

from site_api.accounts import tokens, users
from site_api.models import EmailToken, User

EMAIL = "reader@example.org"
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "purple elephant marmalade"
NEWER_PASSWORD = "quiet harbour lantern seven"


@pytest.fixture
def reader(engine: Engine) -> User:
    return users.create_user(engine, EMAIL, PASSWORD)


def uid(user: User) -> int:
    assert user.id is not None
    return user.id


def link_works(client: httpx.Client, token: str) -> bool:
    """Whether a reset link still opens its form."""
    response = client.get(f"/reset-password?token={token}")
    assert response.status_code in {200, 400}
    return response.status_code == 200


def older_reset_link(engine: Engine, user: User) -> str:
    """A reset link sent earlier and still unused (another worker's, say): a row beside the
    newest one, which `tokens.issue` would otherwise replace."""
    token = "older-link-" + "x" * 32
    with Session(engine) as db:
        db.add(
            EmailToken(
                token_hash=tokens._hash(token),
                user_id=uid(user),
                purpose="reset",
                expires_at=users.utcnow() + timedelta(hours=1),
            )
        )
        db.commit()
    return token


def sign_in(client: httpx.Client) -> None:
    data = {"email": EMAIL, "password": PASSWORD, "csrf_token": csrf(client)}
    assert client.post("/sign-in", data=data, follow_redirects=False).status_code == 303


def test_a_password_change_ends_reset_links(
    client: httpx.Client, engine: Engine, reader: User
) -> None:
    token = tokens.issue(engine, uid(reader), "reset")
    assert link_works(client, token)
    sign_in(client)
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "csrf_token": csrf(client)}
    assert client.post("/account/password", data=data, follow_redirects=False).status_code == 303
    assert not link_works(client, token)
    form = {"token": token, "password": NEWER_PASSWORD, "csrf_token": csrf(client)}
    assert client.post("/reset-password", data=form).status_code == 400
    assert users.authenticate(engine, EMAIL, NEW_PASSWORD) is not None


def test_a_reset_ends_every_other_reset_link(
    client: httpx.Client, engine: Engine, reader: User
) -> None:
    token = tokens.issue(engine, uid(reader), "reset")
    older = older_reset_link(engine, reader)
    assert link_works(client, older) and link_works(client, token)
    form = {"token": token, "password": NEW_PASSWORD, "csrf_token": csrf(client)}
    assert client.post("/reset-password", data=form).status_code == 200
    assert not link_works(client, older)
    assert users.authenticate(engine, EMAIL, NEW_PASSWORD) is not None


def test_confirming_the_address_ends_reset_links(
    client: httpx.Client, engine: Engine, reader: User
) -> None:
    reset = tokens.issue(engine, uid(reader), "reset")
    verify = tokens.issue(engine, uid(reader), "verify")
    assert link_works(client, reset)
    assert client.get(f"/verify-email?token={verify}").status_code == 200
    assert not link_works(client, reset)


def test_deleting_the_account_ends_reset_links(
    client: httpx.Client, engine: Engine, reader: User
) -> None:
    token = tokens.issue(engine, uid(reader), "reset")
    sign_in(client)
    data = {"password": PASSWORD, "csrf_token": csrf(client)}
    assert client.post("/account/delete", data=data).status_code == 200
    assert not link_works(client, token)
