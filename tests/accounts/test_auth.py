"""Sign-in, create account, sign-out: every rule and every refusal, checked on the wire."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest
from starlette.testclient import TestClient
from visitors import PASSWORD, csrf, sign_in

from site_api.accounts import sessions, users
from site_api.config import Settings
from site_api.db import make_engine
from site_api.web.app import create_app
from site_api.web.security import client_address, safe_next

TOPIC = "/topics/stills-disease/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/topics/x/", "/topics/x/"),
        ("/topics/x/?a=1#b", "/topics/x/?a=1#b"),
        (None, "/"),
        ("", "/"),
        ("topics/x/", "/"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/%2F%2Fevil.example", "/"),
        ("%2F%2Fevil.example", "/"),
        ("/%252F%252Fevil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("/\t/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_next_only_accepts_same_site_paths(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


@pytest.fixture
def user(settings: Settings) -> str:
    users.create_user(
        make_engine(settings.database_url), "Reader@Example.org", PASSWORD, verified=True
    )
    return "reader@example.org"


def test_sign_in_page_and_its_no_js_form(client: httpx.Client) -> None:
    response = client.get("/sign-in/?next=/topics/stills-disease/")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert '<form method="post" action="/sign-in"' in response.text
    assert 'name="next" value="/topics/stills-disease/"' in response.text
    assert "This site is intended for healthcare professionals" in response.text
    assert (
        "csrf=" in response.headers["set-cookie"] and "HttpOnly" in response.headers["set-cookie"]
    )


def test_sign_in_returns_to_next_with_a_safe_session_cookie(
    client: httpx.Client, user: str
) -> None:
    response = sign_in(client, "READER@example.org ", PASSWORD, TOPIC)
    assert response.status_code == 303 and response.headers["location"] == TOPIC
    cookie = response.headers["set-cookie"]
    assert re.match(r"session=[\w-]{43}; HttpOnly; Max-Age=\d+; Path=/; SameSite=lax", cookie), (
        cookie
    )
    assert "Secure" not in cookie


def test_session_cookie_is_secure_in_production(settings: Settings, user: str) -> None:
    with TestClient(
        create_app(settings.model_copy(update={"env": "production"})),
        base_url="https://127.0.0.1:8000",
    ) as client:
        response = sign_in(client, user, PASSWORD)
        assert "; Secure" in response.headers["set-cookie"]


def test_open_redirects_fall_back_to_home(client: httpx.Client, user: str) -> None:
    for target in (
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "/%2F%2Fevil.example",
    ):
        assert sign_in(client, user, PASSWORD, target).headers["location"] == "/"


def test_sign_in_rotates_the_session(client: httpx.Client, user: str, settings: Settings) -> None:
    first = sign_in(client, user, PASSWORD).cookies["session"]
    second = sign_in(client, user, PASSWORD).cookies["session"]
    assert first != second
    store = client.app.api.state.sessions  # type: ignore[attr-defined]
    assert store.user_id(first) is None, "the old session ended at the new sign-in"
    assert store.user_id(second) is not None


def test_failure_says_the_same_for_known_and_unknown_addresses(
    client: httpx.Client, user: str
) -> None:
    known = sign_in(client, user, "wrong password here")
    unknown = sign_in(client, "nobody@example.org", "wrong password here")
    assert known.status_code == unknown.status_code == 400
    message = "That email address and password do not match an account."
    assert message in known.text and message in unknown.text
    assert "session" not in known.cookies


def test_create_account_signs_in_and_tells_existing_addresses_by_mail(
    client: httpx.Client, user: str, settings: Settings
) -> None:
    """A new account is signed in at once (a new session) and sent back to `next`; an address
    that has an account gets a notice by mail and no session, unless its password was typed."""
    token = csrf(client)
    client.cookies.set("session", "an-old-session-token")
    new = client.post(
        "/create-account",
        data={
            "email": "new@example.org",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/topics/stills-disease/",
        },
        follow_redirects=False,
    )
    assert new.status_code == 303
    assert new.headers["location"] == "/topics/stills-disease/"
    session = new.cookies.get("session")
    assert session and session != "an-old-session-token"
    store = client.app.api.state.sessions  # type: ignore[attr-defined]
    reader = store.lookup(session)
    assert reader is not None and not reader.verified and reader.email == "new@example.org"
    client.cookies.delete("session")
    old = client.post(
        "/create-account",
        data={"email": user, "password": "not the owner's password", "csrf_token": token},
        follow_redirects=False,
    )
    assert old.status_code == 200 and "Check your email" in old.text
    assert "session" not in old.cookies
    owner = client.post(
        "/create-account",
        data={"email": user, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert owner.status_code == 303 and owner.cookies.get("session")
    engine = make_engine(settings.database_url)
    assert users.find_user(engine, "new@example.org") is not None
    outbox = sorted((settings.var_dir / "outbox").glob("*.eml"))
    assert len(outbox) == 2  # a verification link to the new address, a notice to the known one


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Use at least 10 characters."),
        ("password123", "That password is too common"),
        ("aaaaaaaaaaaa", "That password is too common"),
        ("x" * 257, "Use at most 256 characters."),
        ("newreader-pass-2026", "build the password from your email address"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(
    client: httpx.Client, password: str, message: str
) -> None:
    data = {"email": "newreader@example.org", "password": password, "csrf_token": csrf(client)}
    response = client.post("/create-account", data=data)
    assert response.status_code == 400
    assert message in response.text


def test_any_characters_and_long_passwords_are_accepted() -> None:
    users.check_password("ünïcødé 密码 emoji 🩺 spaces", "a@example.org")
    users.check_password("correct horse battery staple " * 8, "a@example.org")


def test_passwords_are_stored_as_argon2id(settings: Settings, user: str) -> None:
    stored = users.find_user(make_engine(settings.database_url), user)
    assert stored is not None and stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$")


def test_the_unknown_address_hash_is_made_at_the_first_check_not_at_import() -> None:
    """Importing the accounts code (every server start) makes no argon2 hash; the first check
    makes it whether or not the account exists, and an unknown one is checked against it."""
    probe = (
        "from site_api.accounts import users\n"
        "made = users._dummy_hash.cache_info().currsize\n"
        "known = users.verify_password('a long password', users.hash_password('a long password'))\n"
        "print(made, known, users._dummy_hash.cache_info().currsize)\n"
        "print(users.verify_password('a long password', None), users._dummy_hash()[:10])\n"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert ran.stdout.split("\n")[:2] == ["0 True 1", "False $argon2id$"]


def test_sign_out_ends_the_session(client: httpx.Client, user: str) -> None:
    token = sign_in(client, user, PASSWORD).cookies["session"]
    response = client.post(
        "/sign-out", data={"csrf_token": client.cookies["csrf"]}, follow_redirects=False
    )
    assert response.status_code == 303
    assert (
        'session=""' in response.headers["set-cookie"]
        or "Max-Age=0" in response.headers["set-cookie"]
    )
    assert client.app.api.state.sessions.user_id(token) is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/sign-in", "/create-account", "/sign-out"])
def test_forms_without_the_csrf_token_are_refused(client: httpx.Client, path: str) -> None:
    csrf(client)
    response = client.post(
        path, data={"email": "a@example.org", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [{"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}, {"origin": "null"}],
)
def test_cross_site_writes_are_refused(
    client: httpx.Client, user: str, headers: dict[str, str]
) -> None:
    response = sign_in(client, user, PASSWORD, headers=headers)
    assert response.status_code == 403
    assert "session" not in response.cookies


def test_same_origin_writes_pass(client: httpx.Client, user: str) -> None:
    headers = {"origin": "http://127.0.0.1:8000", "sec-fetch-site": "same-origin"}
    assert sign_in(client, user, PASSWORD, headers=headers).status_code == 303


def test_ten_failures_lock_the_account_for_a_while(client: httpx.Client, user: str) -> None:
    for _ in range(10):
        assert sign_in(client, user, "wrong password here").status_code == 400
    locked = sign_in(client, user, PASSWORD)
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["retry-after"]) <= 15 * 60
    assert "Too many attempts" in locked.text


def test_a_hundred_attempts_from_one_address_are_limited(
    client: httpx.Client, settings: Settings
) -> None:
    from site_api.accounts import ratelimit
    from site_api.web.routes.auth import ADDRESS_ATTEMPTS

    engine = make_engine(settings.database_url)
    for _ in range(ADDRESS_ATTEMPTS.attempts):
        ratelimit.hit(engine, "sign-in:addr:testclient", ADDRESS_ATTEMPTS)
    response = sign_in(client, "someone@example.org", PASSWORD)
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    scope = {
        "client": ("10.0.0.5", 1234),
        "headers": [(b"x-forwarded-for", b"203.0.113.9, 10.0.0.7")],
    }
    assert client_address(scope, []) == "10.0.0.5"
    assert client_address(scope, ["10.0.0.5"]) == "10.0.0.7"
    assert client_address(scope, ["10.0.0.5", "10.0.0.7"]) == "203.0.113.9"


@pytest.mark.parametrize(
    ("server", "trusted", "expected"),
    [
        # Over a Unix socket (Granian: no peer address, the server named by its path) the peer
        # is `unix:`, believed only when SITE_TRUSTED_PROXIES lists it.
        (("/run/site/api.sock", "0"), ["unix:"], "203.0.113.9"),
        (("/run/site/api.sock", "0"), ["127.0.0.1"], "unix:"),
        (("/run/site/api.sock", "0"), [], "unix:"),
        (("/run/site/api.sock", "0"), [""], "unix:"),
        # No path, no socket: an empty peer is never a proxy, whatever the list says.
        (("127.0.0.1", 8000), ["unix:"], "unknown"),
    ],
)
def test_a_unix_socket_peer_is_a_proxy_only_when_listed(
    server: tuple[str, object], trusted: list[str], expected: str
) -> None:
    scope = {
        "client": ("", "0"),
        "server": server,
        "headers": [(b"x-forwarded-for", b"203.0.113.9")],
    }
    assert client_address(scope, trusted) == expected


@pytest.mark.parametrize(
    ("lines", "trusted", "expected"),
    [
        # A proxy that adds its own line leaves the client's forged line first.
        ([b"203.0.113.9", b"198.51.100.4"], ["10.0.0.5"], "198.51.100.4"),
        ([b"203.0.113.9", b"198.51.100.4", b"10.0.0.7"], ["10.0.0.5", "10.0.0.7"], "198.51.100.4"),
        ([b"203.0.113.9, 198.51.100.4", b"10.0.0.7"], ["10.0.0.5", "10.0.0.7"], "198.51.100.4"),
        ([b"203.0.113.9", b"198.51.100.4", b"10.0.0.7"], [], "10.0.0.5"),
        ([b"203.0.113.9", b"198.51.100.4"], ["10.0.0.6"], "10.0.0.5"),
    ],
)
def test_every_forwarded_for_line_counts(
    lines: list[bytes], trusted: list[str], expected: str
) -> None:
    scope = {"client": ("10.0.0.5", 1234), "headers": [(b"x-forwarded-for", v) for v in lines]}
    assert client_address(scope, trusted) == expected


def test_the_address_limit_reads_every_forwarded_for_line(settings: Settings) -> None:
    from site_api.accounts import ratelimit
    from site_api.web.routes.auth import ADDRESS_ATTEMPTS

    s = settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]})
    with TestClient(create_app(s), client=("127.0.0.1", 40000)) as client:
        engine = make_engine(s.database_url)
        for _ in range(ADDRESS_ATTEMPTS.attempts):
            ratelimit.hit(engine, "sign-in:addr:198.51.100.4", ADDRESS_ATTEMPTS)
        # Each request's first line is a new forged address; the proxy's own line is the client.
        for forged in ("203.0.113.1", "203.0.113.2"):
            headers = [("x-forwarded-for", forged), ("x-forwarded-for", "198.51.100.4")]
            response = sign_in(client, "someone@example.org", PASSWORD, headers=headers)
            assert response.status_code == 429, forged


def test_session_cookie_name_is_the_one_the_gate_reads() -> None:
    assert sessions.COOKIE == "session"


def test_what_create_account_tells_about_addresses_is_limited_per_client(
    client: httpx.Client, user: str, settings: Settings
) -> None:
    """A taken address answers apart from a new one (README: No account enumeration), so
    probing many addresses from one client stops at the per-address-of-client limit."""
    from site_api.accounts import ratelimit
    from site_api.web.routes.auth import ADDRESS_ATTEMPTS

    engine = make_engine(settings.database_url)
    for _ in range(ADDRESS_ATTEMPTS.attempts - 2):  # each probe below is a different address
        ratelimit.hit(engine, "create-account:addr:testclient", ADDRESS_ATTEMPTS)
    token = csrf(client)

    def create(email: str) -> httpx.Response:
        data = {"email": email, "password": "violet tangerine harbour", "csrf_token": token}
        return client.post("/create-account", data=data, follow_redirects=False)

    taken, new = create(user), create("fresh-1@example.org")
    assert taken.status_code == 200 and "Check your email" in taken.text
    assert new.status_code == 303 and new.cookies.get("session")
    client.cookies.delete("session")
    # The limit reached: taken and new addresses answer alike, and nothing is created or sent.
    refused = [create(user), create("fresh-2@example.org")]
    for response in refused:
        assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
        assert "session" not in response.cookies
    assert refused[0].text == refused[1].text
    assert users.find_user(engine, "fresh-2@example.org") is None


def test_create_account_is_limited_per_account_too(client: httpx.Client) -> None:
    token = csrf(client)
    data = {"email": "many@example.org", "password": "short", "csrf_token": token}
    for _ in range(10):
        assert client.post("/create-account", data=data).status_code == 400
    response = client.post("/create-account", data=data)
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
