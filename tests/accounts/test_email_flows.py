"""Emailed links over a real SMTP server: confirm an address, forgotten password, new password."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from servers import free_port
from smtp import Mailbox, body, link, smtp_server
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from visitors import GATED_URL, full_cookie

from site_api.accounts import users
from site_api.accounts.sessions import SessionStore
from site_api.config import Settings
from site_api.db import make_engine
from site_api.models import EmailToken, User, UserSession
from site_api.web.app import create_app

__all__ = ["smtp_server"]  # the fixture, imported for pytest

BASE = "http://127.0.0.1:8000"
PASSWORD = "amber-kettle-violin-42"
NEW_PASSWORD = "quiet-harbour-lantern-7"
FORGOT_SENT = "If an account exists for that address, we have sent a link to it."


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: Mailbox) -> Settings:
    # No session cache: the reset test reads sessions through the gate before and after the
    # reset, and a process may keep a live session for `session_cache_seconds` by design.
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "smtp_tls": "none",
            "public_url": BASE,
            "session_cache_seconds": 0.0,
        }
    )


@pytest.fixture
def web(mail_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(mail_settings), base_url=BASE) as client:
        yield client


@pytest.fixture
def engine(mail_settings: Settings) -> Engine:
    return make_engine(mail_settings.database_url)


def csrf(client: httpx.Client) -> str:
    """This browser's CSRF token, as a form page gives it."""
    if "csrf" not in client.cookies:
        assert client.get("/forgot-password").status_code == 200
    return str(client.cookies["csrf"])


def user(engine: Engine, email: str) -> User:
    found = users.find_user(engine, email)
    assert found is not None and found.id is not None
    return found


def expire_tokens(engine: Engine, purpose: str) -> None:
    with Session(engine) as db:
        for row in db.exec(select(EmailToken).where(col(EmailToken.purpose) == purpose)):
            row.expires_at = users.utcnow() - timedelta(seconds=1)
            db.add(row)
        db.commit()


def sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    data = {"email": email, "password": password, "csrf_token": csrf(client), "next": "/"}
    return client.post("/sign-in", data=data, follow_redirects=False)


def forgot(client: httpx.Client, email: str) -> httpx.Response:
    return client.post("/forgot-password", data={"email": email, "csrf_token": csrf(client)})


def reads_gated_topic(client: httpx.Client, session_token: str) -> bool:
    """Whether a reader with this session and a spent meter gets past the gate."""
    cookie = f"session={session_token}; {full_cookie()}"
    status = client.get(GATED_URL, headers={"cookie": cookie}).status_code
    assert status in (200, 403)
    return status == 200


def test_new_account_is_confirmed_by_the_emailed_link(
    web: TestClient, smtp_server: Mailbox, engine: Engine
) -> None:
    data = {"email": "Ada@Example.org", "password": PASSWORD, "csrf_token": csrf(web)}
    assert web.post("/create-account", data=data).status_code == 200
    [message] = smtp_server.to("ada@example.org")
    assert message["Subject"] == "Confirm your email address"
    assert user(engine, "ada@example.org").email_verified_at is None
    # Creating the account signed this browser in; the link is opened on another device.
    assert web.get("/account").status_code == 200
    web.cookies.clear()

    url = link(message, "/verify-email")
    confirmed = web.get(url)
    assert confirmed.status_code == 200
    assert "Your email address is confirmed" in confirmed.text
    assert 'href="/sign-in"' in confirmed.text
    assert confirmed.headers["referrer-policy"] == "no-referrer"
    assert user(engine, "ada@example.org").email_verified_at is not None

    again = web.get(url)
    assert again.status_code == 400
    assert "This link does not work any more" in again.text
    assert 'href="/sign-in?next=/verify-email"' in again.text


def test_expired_or_unknown_confirmation_link(
    web: TestClient, smtp_server: Mailbox, engine: Engine
) -> None:
    data = {"email": "bo@example.org", "password": PASSWORD, "csrf_token": csrf(web)}
    web.post("/create-account", data=data)
    web.cookies.clear()  # opened where the reader is not signed in
    expire_tokens(engine, "verify")
    for url in (link(smtp_server.messages[-1], "/verify-email"), "/verify-email?token=nonsense"):
        response = web.get(url)
        assert response.status_code == 400
        assert "has expired" in response.text
    assert web.get("/verify-email").status_code == 400
    assert user(engine, "bo@example.org").email_verified_at is None


def test_signed_in_reader_asks_for_a_new_link(
    web: TestClient, smtp_server: Mailbox, engine: Engine
) -> None:
    users.create_user(engine, "cy@example.org", PASSWORD)
    assert sign_in(web, "cy@example.org", PASSWORD).status_code == 303
    offer = web.get("/verify-email")
    assert offer.status_code == 200
    assert 'action="/verify-email/resend"' in offer.text

    assert web.post("/verify-email/resend").status_code == 403
    sent = web.post("/verify-email/resend", data={"csrf_token": csrf(web)})
    assert sent.status_code == 200 and "We have sent a new link to cy@example.org" in sent.text
    first = link(smtp_server.to("cy@example.org")[-1], "/verify-email")
    web.post("/verify-email/resend", data={"csrf_token": csrf(web)})
    second = link(smtp_server.to("cy@example.org")[-1], "/verify-email")
    assert web.get(first).status_code == 400  # a new link replaces the earlier ones
    confirmed = web.get(second)
    assert confirmed.status_code == 200 and 'href="/"' in confirmed.text
    assert user(engine, "cy@example.org").email_verified_at is not None

    done = web.post("/verify-email/resend", data={"csrf_token": csrf(web)})
    assert "already confirmed" in done.text
    assert len(smtp_server.to("cy@example.org")) == 2

    with TestClient(web.app, base_url=BASE) as stranger:
        refused = stranger.post("/verify-email/resend", data={"csrf_token": csrf(stranger)})
        assert refused.status_code == 401


def test_forgot_password_answers_the_same_for_every_address(
    web: TestClient, smtp_server: Mailbox, engine: Engine
) -> None:
    users.create_user(engine, "known@example.org", PASSWORD)
    known = forgot(web, "Known@Example.org")
    unknown = forgot(web, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert FORGOT_SENT in known.text
    assert [m["To"] for m in smtp_server.messages] == ["known@example.org"]
    assert smtp_server.messages[0]["Subject"] == "Reset your password"
    link(smtp_server.messages[0], "/reset-password")

    invalid = forgot(web, "not an address")
    assert invalid.status_code == 400 and "not valid" in invalid.text


def test_nobody_can_flood_a_mailbox_with_reset_links(
    web: TestClient, smtp_server: Mailbox, engine: Engine
) -> None:
    users.create_user(engine, "jo@example.org", PASSWORD)
    answers = {forgot(web, "jo@example.org").text for _ in range(7)}
    assert len(answers) == 1 and FORGOT_SENT in answers.pop()
    assert len(smtp_server.to("jo@example.org")) == 5


def test_single_sign_on_account_can_set_a_password(
    web: TestClient, smtp_server: Mailbox, engine: Engine
) -> None:
    users.create_user(engine, "sso@example.org", None)
    forgot(web, "sso@example.org")
    url = link(smtp_server.to("sso@example.org")[0], "/reset-password")
    token = parse_qs(urlsplit(url).query)["token"][0]
    data = {"token": token, "password": NEW_PASSWORD, "csrf_token": csrf(web)}
    assert web.post("/reset-password", data=data).status_code == 200
    assert sign_in(web, "sso@example.org", NEW_PASSWORD).status_code == 303


def test_reset_sets_the_password_and_ends_every_session(
    web: TestClient, smtp_server: Mailbox, engine: Engine, mail_settings: Settings
) -> None:
    users.create_user(engine, "di@example.org", PASSWORD)
    account = user(engine, "di@example.org")
    assert account.id is not None and account.email_verified_at is None
    assert sign_in(web, "di@example.org", PASSWORD).status_code == 303
    this_browser = str(web.cookies["session"])
    store = SessionStore(engine, idle=timedelta(hours=8), absolute=timedelta(days=7))
    other_device = store.create(account.id)
    assert reads_gated_topic(web, this_browser) and reads_gated_topic(web, other_device)

    forgot(web, "di@example.org")
    url = link(smtp_server.to("di@example.org")[-1], "/reset-password")
    for _ in range(2):  # showing the form leaves the link usable
        form = web.get(url)
        assert form.status_code == 200
        assert form.headers["referrer-policy"] == "no-referrer"
    token = parse_qs(urlsplit(url).query)["token"][0]
    assert f'name="token" value="{token}"' in form.text

    data = {"token": token, "password": NEW_PASSWORD, "csrf_token": csrf(web)}
    done = web.post("/reset-password", data=data)
    assert done.status_code == 200
    assert "Your password has been changed" in done.text and 'href="/sign-in"' in done.text
    # Signed out here too: the header says so and drafts.js clears this browser's drafts.
    assert "data-signed-out>You have signed out." in done.text
    assert 'session=""' in done.headers["set-cookie"]

    assert not reads_gated_topic(web, this_browser)
    assert not reads_gated_topic(web, other_device)
    with Session(engine) as db:
        rows = db.exec(select(UserSession).where(col(UserSession.user_id) == account.id)).all()
    assert rows == []
    assert user(engine, "di@example.org").email_verified_at is not None
    assert smtp_server.to("di@example.org")[-1]["Subject"] == "Your password has been changed"

    assert sign_in(web, "di@example.org", PASSWORD).status_code == 400
    assert sign_in(web, "di@example.org", NEW_PASSWORD).status_code == 303
    assert reads_gated_topic(web, str(web.cookies["session"]))

    assert web.get(url).status_code == 400
    reused = web.post("/reset-password", data={**data, "password": "another-fine-passphrase"})
    assert reused.status_code == 400 and "Send me a new link" in reused.text
    assert sign_in(web, "di@example.org", NEW_PASSWORD).status_code == 303


def test_reset_link_lasts_one_hour(web: TestClient, smtp_server: Mailbox, engine: Engine) -> None:
    users.create_user(engine, "ed@example.org", PASSWORD)
    forgot(web, "ed@example.org")
    url = link(smtp_server.to("ed@example.org")[0], "/reset-password")
    token = parse_qs(urlsplit(url).query)["token"][0]
    with Session(engine) as db:
        row = db.get(EmailToken, hashlib.sha256(token.encode()).hexdigest())
        assert row is not None and row.purpose == "reset"
        lifetime = row.expires_at - users.utcnow()
    assert timedelta(minutes=59) < lifetime <= timedelta(hours=1)

    expire_tokens(engine, "reset")
    assert web.get(url).status_code == 400
    data = {"token": token, "password": NEW_PASSWORD, "csrf_token": csrf(web)}
    refused = web.post("/reset-password", data=data)
    assert refused.status_code == 400 and "has expired" in refused.text
    assert sign_in(web, "ed@example.org", PASSWORD).status_code == 303


def test_weak_password_is_refused_and_the_link_kept(
    web: TestClient, smtp_server: Mailbox, engine: Engine
) -> None:
    users.create_user(engine, "flo@example.org", PASSWORD)
    forgot(web, "flo@example.org")
    url = link(smtp_server.to("flo@example.org")[0], "/reset-password")
    token = parse_qs(urlsplit(url).query)["token"][0]
    for weak, message in [
        ("short", "Use at least 10 characters."),
        ("password123", "That password is too common"),
    ]:
        data = {"token": token, "password": weak, "csrf_token": csrf(web)}
        refused = web.post("/reset-password", data=data)
        assert refused.status_code == 400
        assert message in refused.text
        assert f'name="token" value="{token}"' in refused.text
    assert web.get(url).status_code == 200
    data = {"token": token, "password": NEW_PASSWORD, "csrf_token": csrf(web)}
    assert web.post("/reset-password", data=data).status_code == 200


def test_forms_need_their_csrf_token(web: TestClient, smtp_server: Mailbox, engine: Engine) -> None:
    users.create_user(engine, "gus@example.org", PASSWORD)
    assert web.post("/forgot-password", data={"email": "gus@example.org"}).status_code == 403
    assert smtp_server.messages == []
    forgot(web, "gus@example.org")
    url = link(smtp_server.to("gus@example.org")[0], "/reset-password")
    token = parse_qs(urlsplit(url).query)["token"][0]
    data = {"token": token, "password": NEW_PASSWORD, "csrf_token": "forged"}
    assert web.post("/reset-password", data=data).status_code == 403
    assert web.get(url).status_code == 200  # the link still works
    assert sign_in(web, "gus@example.org", PASSWORD).status_code == 303


def test_confirmation_links_are_rate_limited_per_address(web: TestClient) -> None:
    for _ in range(100):
        assert web.get("/verify-email?token=guess").status_code == 400
    refused = web.get("/verify-email?token=guess")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert "Too many attempts" in refused.text


def test_without_smtp_mail_goes_to_the_outbox(settings: Settings) -> None:
    assert settings.smtp_host == ""
    users.create_user(make_engine(settings.database_url), "hal@example.org", PASSWORD)
    with TestClient(create_app(settings), base_url=BASE) as client:
        assert forgot(client, "hal@example.org").status_code == 200
    [saved] = list((settings.var_dir / "outbox").glob("*.eml"))
    message = message_from_bytes(saved.read_bytes(), policy=policy.default)
    assert message["To"] == "hal@example.org"
    assert "/reset-password?token=" in body(message)


def test_one_account_gets_at_most_five_new_links_an_hour(
    web: TestClient, smtp_server: Mailbox, engine: Engine
) -> None:
    users.create_user(engine, "kit@example.org", PASSWORD)
    sign_in(web, "kit@example.org", PASSWORD)
    for _ in range(5):
        assert web.post("/verify-email/resend", data={"csrf_token": csrf(web)}).status_code == 200
    refused = web.post("/verify-email/resend", data={"csrf_token": csrf(web)})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 59 * 60
    assert len(smtp_server.to("kit@example.org")) == 5


def test_a_mail_server_that_is_down_is_never_a_500(settings: Settings) -> None:
    down = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_tls": "none"}
    )
    engine = make_engine(down.database_url)
    users.create_user(engine, "lou@example.org", PASSWORD)
    with TestClient(create_app(down), base_url=BASE) as client:
        known, unknown = forgot(client, "lou@example.org"), forgot(client, "nobody@example.org")
        assert known.status_code == unknown.status_code == 200 and known.text == unknown.text
        sign_in(client, "lou@example.org", PASSWORD)
        failed = client.post("/verify-email/resend", data={"csrf_token": csrf(client)})
        assert failed.status_code == 503 and "We could not send the message" in failed.text
