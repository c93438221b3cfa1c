"""The account page over HTTP: password, sign out everywhere, export, deletion, and refusals."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select
from visitors import GATED_URL, full_cookie

from site_api.accounts import ratelimit, tokens, users
from site_api.accounts.sessions import SessionStore
from site_api.models import EmailToken, OidcIdentity, RateCounter, User, UserSession

EMAIL = "reader@example.org"
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "purple elephant marmalade"


def csrf(client: httpx.Client) -> str:
    """This browser's CSRF token (a GET of a form page sets it)."""
    if "csrf" not in client.cookies:
        client.get("/sign-in")
    return client.cookies["csrf"]


def sign_in(client: httpx.Client, email: str = EMAIL, password: str = PASSWORD) -> str:
    """Post the sign-in form as a browser would; returns the session token."""
    client.get("/sign-in")
    response = client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": csrf(client), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client.cookies["session"]


def post(client: httpx.Client, path: str, **data: str) -> httpx.Response:
    return client.post(path, data={"csrf_token": csrf(client), **data}, follow_redirects=False)


@pytest.fixture
def reader(engine: Engine) -> User:
    return users.create_user(engine, EMAIL, PASSWORD, verified=True)


def second_browser(client: TestClient) -> TestClient:
    """Another browser on the same application (and so the same session cache)."""
    return TestClient(client.app, base_url="http://127.0.0.1:8000")


def new_session(client: TestClient, user: User) -> str:
    """A session made elsewhere (another device), straight from the app's session store."""
    store: SessionStore = client.app.api.state.sessions  # type: ignore[attr-defined]
    return store.create(uid(user))


def uid(user: User) -> int:
    assert user.id is not None
    return user.id


def sessions_of(engine: Engine, user_id: int) -> set[str]:
    with Session(engine) as db:
        rows = db.exec(select(UserSession.token_hash).where(UserSession.user_id == user_id))
        return set(rows.all())


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def reads_gated_topic(client: TestClient, token: str) -> bool:
    """Whether this session still reads past the gate (the page server caches live sessions)."""
    fresh = second_browser(client)
    response = fresh.get(GATED_URL, headers={"cookie": f"session={token}; {full_cookie()}"})
    return response.status_code == 200


# --- the page -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/account", "/account/", "/account/export.json"])
def test_anonymous_is_sent_to_sign_in(client: httpx.Client, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/account"
    assert response.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize(
    "path", ["/account/password", "/account/sign-out-everywhere", "/account/delete"]
)
def test_anonymous_posts_are_sent_to_sign_in(client: httpx.Client, path: str) -> None:
    response = post(client, path, current_password=PASSWORD, new_password=NEW_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/account"


def test_account_page_shows_the_account(client: httpx.Client, reader: User) -> None:
    sign_in(client)
    response = client.get("/account")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert EMAIL in response.text
    assert "Your email address is confirmed." in response.text
    assert 'action="/verify-email/resend"' not in response.text
    token = csrf(client)
    # The header's menu signs out with a token bound to the session (static pages set no CSRF
    # cookie); the page's own forms below the header use the double-submit token.
    header, content = response.text.split("</header>", 1)
    menu = re.search(r'<form method="post" action="/sign-out">.*?</form>', header, re.S)
    assert menu and 'name="csrf_token" value="' in menu.group(0)
    for action in (
        "/account/password",
        "/sign-out",
        "/account/sign-out-everywhere",
        "/account/delete",
    ):
        form = re.search(rf'<form method="post" action="{action}".*?</form>', content, re.S)
        assert form, action
        assert f'name="csrf_token" value="{token}"' in form.group(0)
    assert 'href="/account/export.json"' in response.text
    assert 'name="current_password"' in response.text


def test_unverified_account_is_reminded(client: httpx.Client, engine: Engine) -> None:
    users.create_user(engine, EMAIL, PASSWORD)
    sign_in(client)
    response = client.get("/account")
    assert "is not confirmed yet" in response.text
    form = re.search(
        r'<form method="post" action="/verify-email/resend">.*?</form>', response.text, re.S
    )
    assert form and f'value="{csrf(client)}"' in form.group(0)


# --- refusals common to every form ----------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/account/password", "/account/sign-out-everywhere", "/account/delete"]
)
def test_posts_need_the_csrf_token(
    client: httpx.Client, reader: User, engine: Engine, path: str
) -> None:
    sign_in(client)
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "password": PASSWORD}
    missing = client.post(path, data=data, follow_redirects=False)
    assert missing.status_code == 403
    assert missing.headers["cache-control"] == "private, no-store"
    wrong = client.post(path, data={**data, "csrf_token": "x" * 43}, follow_redirects=False)
    assert wrong.status_code == 403
    assert users.authenticate(engine, EMAIL, PASSWORD)
    assert client.get("/account", follow_redirects=False).status_code == 200


@pytest.mark.parametrize(
    "path", ["/account/password", "/account/sign-out-everywhere", "/account/delete"]
)
def test_cross_site_posts_are_refused(client: httpx.Client, reader: User, path: str) -> None:
    sign_in(client)
    response = client.post(
        path,
        data={
            "csrf_token": csrf(client),
            "password": PASSWORD,
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
        },
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert client.get("/account", follow_redirects=False).status_code == 200


# --- change password ------------------------------------------------------------------------


def test_change_password_keeps_this_session_and_ends_the_others(
    client: TestClient, reader: User, engine: Engine
) -> None:
    mine = sign_in(client)
    other = second_browser(client)
    other_token = sign_in(other)
    assert reads_gated_topic(client, other_token)
    response = post(
        client, "/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account?done=password"
    assert response.headers["cache-control"] == "private, no-store"
    assert "Your password has been changed" in client.get("/account?done=password").text
    assert sessions_of(engine, uid(reader)) == {digest(mine)}
    assert other.get("/account", follow_redirects=False).status_code == 303
    assert not reads_gated_topic(client, other_token)
    assert reads_gated_topic(client, mine)
    assert users.authenticate(engine, EMAIL, PASSWORD) is None
    assert users.authenticate(engine, EMAIL, NEW_PASSWORD) is not None


def test_wrong_current_password_is_refused(
    client: httpx.Client, reader: User, engine: Engine
) -> None:
    sign_in(client)
    response = post(
        client, "/account/password", current_password="not my password", new_password=NEW_PASSWORD
    )
    assert response.status_code == 400
    assert response.headers["cache-control"] == "private, no-store"
    assert "Your current password is not right." in response.text
    assert users.authenticate(engine, EMAIL, PASSWORD) is not None


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("short", "Use at least 10 characters."),
        ("password123", "That password is too common"),
        ("reader-is-my-password", "Don&#39;t build the password from your email address"),
        ("x" * 300, "Use at most 256 characters."),
    ],
)
def test_weak_new_password_is_refused(
    client: httpx.Client, reader: User, engine: Engine, new: str, message: str
) -> None:
    sign_in(client)
    response = post(client, "/account/password", current_password=PASSWORD, new_password=new)
    assert response.status_code == 400
    assert message in response.text
    assert users.authenticate(engine, EMAIL, PASSWORD) is not None


def test_missing_fields_are_a_400_not_a_500(client: httpx.Client, reader: User) -> None:
    sign_in(client)
    assert post(client, "/account/password").status_code == 400
    assert post(client, "/account/delete").status_code == 400


def test_password_guesses_are_limited(client: httpx.Client, reader: User, engine: Engine) -> None:
    sign_in(client)
    for _ in range(10):
        response = post(client, "/account/delete", password="guess guess guess")
        assert response.status_code == 400
    limited = post(
        client, "/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD
    )
    assert limited.status_code == 429
    assert users.authenticate(engine, EMAIL, PASSWORD) is not None


def sso_only_session(client: TestClient, engine: Engine, email: str = "sso@example.org") -> User:
    """An account made by single sign-on (no password), signed in in `client`."""
    user = users.create_user(engine, email, None, verified=True)
    assert user.id is not None
    with Session(engine) as db:
        db.add(
            OidcIdentity(
                provider="hospital", subject="sub-123", user_id=user.id, created_at=user.created_at
            )
        )
        db.commit()
    client.cookies.set("session", new_session(client, user))
    return user


def test_sso_only_account_sets_a_password_without_a_current_one(
    client: TestClient, engine: Engine
) -> None:
    sso_only_session(client, engine)
    page = client.get("/account")
    assert "Set a password" in page.text and 'name="current_password"' not in page.text
    assert "hospital" in page.text
    response = post(client, "/account/password", new_password=NEW_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/account?done=password-set"
    assert users.authenticate(engine, "sso@example.org", NEW_PASSWORD) is not None


# --- sign out everywhere --------------------------------------------------------------------


def test_sign_out_everywhere(client: TestClient, reader: User, engine: Engine) -> None:
    sign_in(client)
    other = second_browser(client)
    other_token = sign_in(other)
    assert other.get("/account", follow_redirects=False).status_code == 200
    assert reads_gated_topic(client, other_token)
    separate = new_session(client, reader)
    bystander = users.create_user(engine, "bystander@example.org", PASSWORD, verified=True)
    kept = new_session(client, bystander)
    response = post(client, "/account/sign-out-everywhere")
    assert response.status_code == 303
    assert response.headers["location"] == "/?signed-out"  # says so; drafts.js clears drafts
    assert response.headers["cache-control"] == "private, no-store"
    assert re.search(r'session=""; .*Max-Age=0', response.headers["set-cookie"])
    assert sessions_of(engine, uid(reader)) == set()
    assert sessions_of(engine, uid(bystander)) == {digest(kept)}
    assert other.get("/account", follow_redirects=False).status_code == 303
    assert not reads_gated_topic(client, other_token)
    third = second_browser(client)
    third.cookies.set("session", separate)
    assert third.get("/account", follow_redirects=False).status_code == 303


# --- export ---------------------------------------------------------------------------------


def test_export(client: TestClient, reader: User, engine: Engine) -> None:
    mine = sign_in(client)
    other = new_session(client, reader)
    tokens.issue(engine, uid(reader), "reset")
    with Session(engine) as db:
        db.add(
            OidcIdentity(
                provider="hospital",
                subject="sub-9",
                user_id=uid(reader),
                created_at=reader.created_at,
            )
        )
        db.commit()
    response = client.get("/account/export.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        'attachment; filename="clinical-notebook-account.json"'
    )
    assert response.headers["cache-control"] == "private, no-store"
    data = json.loads(response.text)
    assert set(data) == {
        "account",
        "sessions",
        "single_sign_on",
        "notes",
        "share_links",
        "problem_reports",
        "saved_topics",
        "recently_viewed",
        "cpd_log",
        "exported",
    }
    assert data["saved_topics"] == [] and data["recently_viewed"]["topics"] == []
    assert data["cpd_log"]["recording"] is False and data["cpd_log"]["entries"] == []
    assert data["notes"] == []  # the notes themselves: tests/test_account_notes.py
    assert data["account"]["email"] == EMAIL
    assert data["account"]["role"] == "reader"
    assert data["account"]["created"] == reader.created_at.isoformat(timespec="seconds") + "Z"
    assert data["account"]["email_verified"].endswith("Z")
    assert len(data["sessions"]) == 2
    assert sorted(s["this_browser"] for s in data["sessions"]) == [False, True]
    assert set(data["sessions"][0]) == {"created", "last_seen", "this_browser"}
    assert data["single_sign_on"] == [
        {"provider": "hospital", "subject": "sub-9", "linked": data["account"]["created"]}
    ]
    for secret in (mine, other, digest(mine), digest(other), reader.password_hash or "-"):
        assert secret not in response.text
    assert "token" not in response.text


# --- deletion -------------------------------------------------------------------------------


def count(engine: Engine, table: type, **where: object) -> int:
    with Session(engine) as db:
        query = select(func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(getattr(table, name) == value)
        return int(db.exec(query).one())


def test_the_database_enforces_foreign_keys(engine: Engine) -> None:
    """SQLite with its PRAGMA on, PostgreSQL always: a session of no user is refused."""
    now = datetime(2026, 1, 1)
    with Session(engine) as db, pytest.raises(IntegrityError):
        db.add(UserSession(token_hash="h", user_id=987654, created_at=now, last_seen=now))
        db.commit()


def test_delete_account_removes_every_row_of_it(
    client: TestClient, reader: User, engine: Engine
) -> None:
    bystander = users.create_user(engine, "bystander@example.org", PASSWORD, verified=True)
    sign_in(client)
    other = second_browser(client)
    other_token = sign_in(other)
    assert reads_gated_topic(client, other_token)
    failed = other.post(  # leaves a sign-in failure counter keyed by the address
        "/sign-in",
        data={"email": EMAIL, "password": "wrong wrong wrong", "csrf_token": csrf(other)},
    )
    assert failed.status_code == 400
    assert other.get("/account", follow_redirects=False).status_code == 200
    for user in (reader, bystander):
        assert user.id is not None
        tokens.issue(engine, user.id, "verify")
        new_session(client, user)
        with Session(engine) as db:
            db.add(
                OidcIdentity(
                    provider="hospital",
                    subject=user.email,
                    user_id=user.id,
                    created_at=user.created_at,
                )
            )
            db.commit()
        ratelimit.hit(
            engine,
            ratelimit.account_key("forgot-password", user.email),
            ratelimit.Limit(5, timedelta(hours=1)),
        )
    signin_key = ratelimit.digest(ratelimit.account_key("sign-in", EMAIL))
    assert count(engine, RateCounter, key=signin_key) == 1

    wrong = post(client, "/account/delete", password="not my password")
    assert wrong.status_code == 400
    assert "Your current password is not right." in wrong.text
    assert count(engine, User, id=reader.id) == 1

    response = post(client, "/account/delete", password=PASSWORD)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert "Your account has been deleted" in response.text
    assert re.search(r'session=""; .*Max-Age=0', response.headers["set-cookie"])
    assert count(engine, User, id=reader.id) == 0
    for table in (UserSession, EmailToken, OidcIdentity):
        assert count(engine, table, user_id=reader.id) == 0, table
        assert count(engine, table, user_id=bystander.id) >= 1, table
    with Session(engine) as db:
        keys = set(db.exec(select(RateCounter.key)).all())
    mine = {ratelimit.digest(ratelimit.account_key(a, EMAIL)) for a in ratelimit.ACCOUNT_ACTIONS}
    assert not keys & mine
    assert ratelimit.digest(ratelimit.account_key("forgot-password", bystander.email)) in keys
    assert other.get("/account", follow_redirects=False).status_code == 303
    assert not reads_gated_topic(client, other_token)
    assert users.authenticate(engine, EMAIL, PASSWORD) is None
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_sso_only_account_is_deleted_by_typing_its_email(
    client: TestClient, engine: Engine
) -> None:
    user = sso_only_session(client, engine)
    page = client.get("/account")
    assert 'name="confirm_email"' in page.text and 'name="password"' not in page.text
    wrong = post(client, "/account/delete", confirm_email="someone@example.org")
    assert wrong.status_code == 400
    assert "Type your email address exactly" in wrong.text
    response = post(client, "/account/delete", confirm_email=" SSO@example.org ")
    assert response.status_code == 200
    assert "Your account has been deleted" in response.text
    # Signed out: the header says so and drafts.js clears this browser's drafts.
    assert "data-signed-out>You have signed out." in response.text
    assert count(engine, User, id=user.id) == 0
    assert count(engine, OidcIdentity, user_id=user.id) == 0


def test_deleted_address_can_make_a_new_account(
    client: TestClient, reader: User, engine: Engine
) -> None:
    sign_in(client)
    assert post(client, "/account/delete", password=PASSWORD).status_code == 200
    again = users.create_user(engine, EMAIL, PASSWORD)
    with Session(engine) as db:
        assert db.exec(select(col(User.id)).where(User.email == EMAIL)).one() == again.id
