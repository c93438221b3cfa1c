"""OpenID Connect sign-in against a real provider (panva's oidc-provider on loopback)."""

from __future__ import annotations

import html
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest
from conftest import ROOT, TEST_KEY, require
from fastapi.testclient import TestClient
from reading import GATED, READ, body_sentence, front_matter, url
from servers import SITE_API, free_port, start, stop, wait_http
from sqlmodel import Session, select

from site_api.accounts import users
from site_api.accounts.sessions import COOKIE as SESSION_COOKIE
from site_api.config import OidcProvider, Settings
from site_api.db import make_engine
from site_api.models import OidcIdentity, User, UserSession
from site_api.web.app import create_app

pytestmark = pytest.mark.oidc

SERVER = ROOT / "tests" / "oidc_provider" / "server.mjs"
CLIENT_ID = "clinical-notebook"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"
#: The in-process app's address: `Settings.public_url`'s default and the TestClient's base URL.
IN_PROCESS = "http://127.0.0.1:8000"
CALLBACK = "/sign-in/oidc/test/callback"
CSRF = "csrf-token-for-tests"
PASSWORD = "correct horse battery staple 42"


@pytest.fixture(scope="session")
def site_port() -> int:
    """The port of this module's live server, chosen early: the provider must know its callback."""
    return free_port()


@pytest.fixture(scope="session")
def issuer(site_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenID provider with one client for the in-process app and the live server."""
    node = shutil.which("node")
    require(node is not None, "Node.js ('node')")
    package = ROOT / "node_modules" / "oidc-provider" / "package.json"
    require(package.is_file(), "npm package oidc-provider")
    assert node is not None
    port = free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    redirect_uris = [IN_PROCESS + CALLBACK, f"http://127.0.0.1:{site_port}{CALLBACK}"]
    proc = start(
        [node, str(SERVER), str(port), CLIENT_ID, CLIENT_SECRET, *redirect_uris], log, cwd=ROOT
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        wait_http(issuer + "/.well-known/openid-configuration", proc, log, timeout=20)
        yield issuer
    finally:
        stop(proc)


def provider_config(issuer: str) -> dict[str, str]:
    return {
        "name": "test",
        "label": "Test provider",
        "discovery_url": issuer + "/.well-known/openid-configuration",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


@pytest.fixture
def oidc_settings(settings: Settings, issuer: str) -> Settings:
    return settings.model_copy(
        update={"oidc_providers": [OidcProvider.model_validate(provider_config(issuer))]}
    )


@pytest.fixture
def site(oidc_settings: Settings) -> Iterator[TestClient]:
    """The app in process, as one visitor's browser sees it."""
    with TestClient(create_app(oidc_settings), base_url=IN_PROCESS) as client:
        client.cookies.set("csrf", CSRF)
        yield client


@pytest.fixture
def engine(oidc_settings: Settings) -> Any:
    return make_engine(oidc_settings.database_url)


def begin(
    site: TestClient, next_url: str = "/", source: str = "", **headers: str
) -> httpx.Response:
    """Press the provider's button on /sign-in (`source="gate"`: the page was opened from the gate)."""
    return site.post(
        "/sign-in/oidc/test",
        data={"csrf_token": CSRF, "next": next_url, "from": source},
        headers=headers,
        follow_redirects=False,
    )


def log_in_at_provider(authorize_url: str, login: str) -> str:
    """Go through the provider's development login (and consent) forms; the callback URL."""
    with httpx.Client(timeout=10) as browser:
        response = browser.get(authorize_url)
        for _ in range(12):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(IN_PROCESS + CALLBACK):
                    return location
                response = browser.get(location)
                continue
            assert response.status_code == 200, response.text
            form = re.search(r'<form[^>]*action="([^"]+)"[^>]*method="post"', response.text)
            assert form, response.text
            fields = dict(
                re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', response.text)
            )
            if 'name="login"' in response.text:
                fields |= {"login": login, "password": "anything"}
            action = urljoin(str(response.url), html.unescape(form.group(1)))
            response = browser.post(action, data=fields)
    raise AssertionError("the provider never sent the browser back")


def sign_in(site: TestClient, login: str, next_url: str = "/", source: str = "") -> httpx.Response:
    """The whole flow for one login at the provider; the callback's response."""
    start = begin(site, next_url, source)
    assert start.status_code == 303, start.text
    return site.get(log_in_at_provider(start.headers["location"], login), follow_redirects=False)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def user_by_email(engine: Any, email: str) -> User | None:
    with Session(engine) as db:
        return db.exec(select(User).where(User.email == email)).first()


def identities(engine: Any) -> list[tuple[str, str, int]]:
    with Session(engine) as db:
        rows = db.exec(select(OidcIdentity)).all()
        return [(row.provider, row.subject, row.user_id) for row in rows]


def test_unknown_provider_is_a_404_page(site: TestClient) -> None:
    response = site.post(
        "/sign-in/oidc/nope", data={"csrf_token": CSRF, "next": "/"}, follow_redirects=False
    )
    assert response.status_code == 404
    assert "No such sign-in option" in response.text
    assert site.get("/sign-in/oidc/nope/callback?code=x&state=y").status_code == 404


def test_start_needs_the_csrf_token(site: TestClient) -> None:
    response = site.post("/sign-in/oidc/test", data={"next": "/"}, follow_redirects=False)
    assert response.status_code == 403


def test_unreachable_provider_is_a_502_page(settings: Settings) -> None:
    config = provider_config(f"http://127.0.0.1:{free_port()}")
    down = settings.model_copy(update={"oidc_providers": [OidcProvider.model_validate(config)]})
    with TestClient(create_app(down), base_url=IN_PROCESS) as client:
        client.cookies.set("csrf", CSRF)
        response = begin(client)
    assert response.status_code == 502
    assert "We could not reach Test provider" in response.text


def test_sign_in_page_shows_the_provider(site: TestClient) -> None:
    response = site.get("/sign-in?next=/topics/x/")
    assert 'action="/sign-in/oidc/test"' in response.text
    assert "Test provider" in response.text


def test_start_redirects_with_pkce_state_and_nonce(site: TestClient, issuer: str) -> None:
    response = begin(site, "/topics/x/", host="attacker.example")
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == issuer + "/auth"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    # From settings.public_url, whatever Host the request claimed.
    assert query["redirect_uri"] == IN_PROCESS + CALLBACK
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 20 and len(query["nonce"]) >= 16
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("oauth_state=")
    for part in ("path=/sign-in/oidc", "max-age=600", "httponly", "samesite=lax"):
        assert part in cookie.lower()
    assert "secure" not in cookie.lower()  # development over http


def test_new_user_is_created_and_signed_in(site: TestClient, engine: Any) -> None:
    login = unique("alice")
    response = sign_in(site, login, "/topics/kawasaki-disease/")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/topics/kawasaki-disease/"
    assert SESSION_COOKIE in response.cookies
    user = user_by_email(engine, f"{login}@example.org")
    assert user is not None and user.email_verified_at is not None and user.password_hash is None
    assert ("test", login, user.id) in identities(engine)
    # The state cookie has done its job and is cleared.
    assert "oauth_state" not in site.cookies

    # Signing in again finds the same account through the identity.
    site.cookies.clear()
    site.cookies.set("csrf", CSRF)
    again = sign_in(site, login)
    assert again.status_code == 303 and again.headers["location"] == "/"
    with Session(engine) as db:
        assert len(db.exec(select(User).where(User.email == f"{login}@example.org")).all()) == 1
    assert [i for i in identities(engine) if i[1] == login] == [("test", login, user.id)]


def test_single_sign_on_after_the_gate_is_counted_for_its_topic(
    site: TestClient, engine: Any
) -> None:
    from visitors import counts

    gate_page = site.get("/sign-in", params={"next": "/topics/kawasaki-disease/", "from": "gate"})
    assert gate_page.text.count('name="from" value="gate"') == 2  # password form and provider
    login = unique("gina")
    created = sign_in(site, login, "/topics/kawasaki-disease/", source="gate")
    assert created.status_code == 303
    site.cookies.clear()
    site.cookies.set("csrf", CSRF)
    assert sign_in(site, login, "/topics/kawasaki-disease/", source="gate").status_code == 303
    assert sign_in(site, login, "/topics/kawasaki-disease/").status_code == 303  # not from it
    site.app.api.state.funnel.flush()  # type: ignore[attr-defined]
    assert counts(engine) == {
        ("kawasaki-disease", "gate_sign_in_page"): 1,
        ("kawasaki-disease", "gate_account"): 1,
        ("kawasaki-disease", "gate_sign_in"): 1,
    }


def test_next_is_kept_only_when_it_is_on_this_site(site: TestClient) -> None:
    response = sign_in(site, unique("nina"), "//evil.example/x")
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_callback_with_bad_state_is_a_400_page(site: TestClient, engine: Any) -> None:
    start = begin(site)
    callback = log_in_at_provider(start.headers["location"], unique("mallory"))
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    response = site.get(forged, follow_redirects=False)
    assert response.status_code == 400
    assert "Start again" in response.text
    assert SESSION_COOKIE not in response.cookies


def test_callback_in_another_browser_is_a_400_page(
    site: TestClient, oidc_settings: Settings
) -> None:
    start = begin(site)
    callback = log_in_at_provider(start.headers["location"], unique("eve"))
    with TestClient(create_app(oidc_settings), base_url=IN_PROCESS) as other:
        response = other.get(callback, follow_redirects=False)
    assert response.status_code == 400
    assert "started in another browser" in response.text


def test_callback_cannot_be_replayed(site: TestClient) -> None:
    start = begin(site)
    callback = log_in_at_provider(start.headers["location"], unique("replay"))
    assert site.get(callback, follow_redirects=False).status_code == 303
    assert site.get(callback, follow_redirects=False).status_code == 400


def test_provider_error_is_a_400_page(site: TestClient) -> None:
    start = begin(site, "/topics/kawasaki-disease/")
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    query = urlencode({"error": "access_denied", "error_description": "no", "state": state})
    response = site.get(f"{CALLBACK}?{query}", follow_redirects=False)
    assert response.status_code == 400
    assert "did not sign you in" in response.text
    assert "/sign-in?next=/topics/kawasaki-disease/" in response.text
    assert SESSION_COOKIE not in response.cookies


def test_missing_email_is_a_400_page(site: TestClient, engine: Any) -> None:
    login = unique("no-email")
    response = sign_in(site, login)
    assert response.status_code == 400
    assert "did not share your email address" in response.text
    assert not [i for i in identities(engine) if i[1] == login]


def test_existing_account_is_not_linked_on_an_unverified_address(
    site: TestClient, engine: Any
) -> None:
    login = unique("unverified-bob")
    email = f"{login}@example.org"
    user = users.create_user(engine, email, PASSWORD, verified=True)
    response = sign_in(site, login)
    assert response.status_code == 409
    assert "sign in with your email address and password" in response.text.lower()
    assert SESSION_COOKIE not in response.cookies
    assert not [i for i in identities(engine) if i[1] == login]
    unchanged = users.authenticate(engine, email, PASSWORD)
    assert unchanged is not None and unchanged.id == user.id


def test_existing_account_is_linked_on_a_verified_address(site: TestClient, engine: Any) -> None:
    login = unique("carol")
    email = f"{login}@example.org"
    user = users.create_user(engine, email, PASSWORD, verified=True)
    response = sign_in(site, login)
    assert response.status_code == 303
    assert ("test", login, user.id) in identities(engine)
    token = response.cookies[SESSION_COOKIE]
    assert site.app.api.state.sessions.user_id(token) == user.id  # type: ignore[attr-defined]
    assert users.authenticate(engine, email, PASSWORD) is not None  # the password still works


def test_unconfirmed_account_is_taken_over_by_the_verified_owner(
    site: TestClient, engine: Any
) -> None:
    """Someone registered the address first (never confirmed): the verified owner gets it alone."""
    login = unique("dave")
    email = f"{login}@example.org"
    squatter = users.create_user(engine, email, PASSWORD, verified=False)
    assert squatter.id is not None
    site.app.api.state.sessions.create(squatter.id)  # type: ignore[attr-defined]
    response = sign_in(site, login)
    assert response.status_code == 303
    user = user_by_email(engine, email)
    assert user is not None and user.id == squatter.id
    assert user.email_verified_at is not None and user.password_hash is None
    assert users.authenticate(engine, email, PASSWORD) is None
    with Session(engine) as db:
        sessions = db.exec(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert len(sessions) == 1  # only the one just started


def test_new_account_on_an_unverified_address_is_asked_to_confirm_it(
    site: TestClient, engine: Any, oidc_settings: Settings
) -> None:
    login = unique("unverified-erin")
    response = sign_in(site, login)
    assert response.status_code == 303
    user = user_by_email(engine, f"{login}@example.org")
    assert user is not None and user.email_verified_at is None
    outbox = oidc_settings.var_dir / "outbox"
    messages = [p.read_text() for p in outbox.glob("*.eml")]
    assert any(f"{login}@example.org" in m and "/verify-email?token=" in m for m in messages)


# --- In a real Chromium, against `site-api serve` -------------------------------------------


@pytest.fixture(scope="session")
def oidc_live_server(
    built_site: Path, issuer: str, site_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`site-api serve` configured with the test provider; yields its base URL."""
    import json

    base = f"http://127.0.0.1:{site_port}"
    env = {
        **os.environ,
        "SITE_SITE_DIR": str(built_site),
        "SITE_VAR_DIR": str(tmp_path_factory.mktemp("oidc-var")),
        "SITE_DATABASE_URL": "",
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_PUBLIC_URL": base,
        "SITE_OIDC_PROVIDERS": json.dumps([provider_config(issuer)]),
    }
    log = tmp_path_factory.mktemp("oidc-serve") / "serve.log"
    proc = start([SITE_API, "serve", "--port", str(site_port)], log, env)
    try:
        wait_http(base + "/", proc, log, timeout=20)
        yield base
    finally:
        stop(proc)


def sign_in_with_provider(page: Any, login: str) -> None:
    """On /sign-in: press the provider's button, log in at its form, consent if it asks."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Test provider").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_load_state()
    consent = page.get_by_role("button", name="Continue")
    if consent.count():
        consent.click()
    expect(page.locator(".md-header")).to_be_visible()


@pytest.mark.browser
def test_sign_in_from_the_countdown(page: Any, oidc_live_server: str) -> None:
    """A metered topic's countdown → /sign-in → the provider → back on the topic, signed in."""
    from playwright.sync_api import expect

    slug = READ[0]
    page.goto(oidc_live_server + url(slug))
    countdown = page.locator(".md-banner .meter-countdown")
    expect(countdown).to_be_visible()
    countdown.get_by_role("link", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{oidc_live_server}/sign-in?next={url(slug)}")

    sign_in_with_provider(page, unique("reader"))
    expect(page).to_have_url(oidc_live_server + url(slug))
    expect(page.locator("article h1")).to_have_text(front_matter(slug)["title"])
    expect(page.locator(".meter-countdown")).to_have_count(0)


@pytest.mark.browser
def test_gated_topic_opens_after_sign_in(page: Any, oidc_live_server: str) -> None:
    """With every free page used, signing in at the provider from the gate opens the topic."""
    from playwright.sync_api import expect

    for slug in READ:
        page.goto(oidc_live_server + url(slug))
    response = page.goto(oidc_live_server + url(GATED))
    assert response is not None and response.status == 403
    page.locator("section.gate").get_by_role("link", name="Sign in", exact=True).click()

    sign_in_with_provider(page, unique("gated-reader"))
    expect(page).to_have_url(oidc_live_server + url(GATED))
    expect(page.locator("section.gate")).to_have_count(0)
    expect(page.locator(".topic-body")).to_contain_text(body_sentence(GATED))
    expect(page.locator(".meter-countdown")).to_have_count(0)
