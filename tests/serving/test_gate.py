"""The meter over HTTP: countdown, the gate, and every side door a curious visitor might try."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import httpx
import pytest
from conftest import raw_request
from sqlmodel import Session
from visitors import GATED, GATED_URL, TOPICS, countdown_of, full_cookie, signed_in_cookie

from site_api.config import ConfigError, Settings
from site_api.content.manifest import load_manifest
from site_api.db import make_engine
from site_api.models import UserSession
from site_api.serving.meter import MeterCookie, MeterState
from site_api.web.app import create_app


def test_countdown_falls_then_the_gate(client: httpx.Client, body_text: str) -> None:
    assert countdown_of(client.get("/").text) == "You can read 5 more topics before signing in."
    expected = [
        "You can read 4 more topics before signing in.",
        "You can read 3 more topics before signing in.",
        "You can read 2 more topics before signing in.",
        "You can read 1 more topic before signing in.",
        "This is the last topic you can read before signing in.",
    ]
    for topic, text in zip(TOPICS, expected, strict=True):
        response = client.get(f"/topics/{topic}/")
        assert response.status_code == 200
        assert countdown_of(response.text) == text
        assert f'href="/sign-in?next=/topics/{topic}/"' in response.text
        assert "set-cookie" in response.headers
    gate = client.get(GATED_URL)
    assert gate.status_code == 403
    assert gate.headers["cache-control"] == "private, no-store"
    assert body_text not in gate.text
    assert '<h1 id="gate-title">Cytokine release syndrome</h1>' in gate.text
    # from=gate: the funnel's only attribution of what follows the gate (serving/funnel.py)
    assert 'href="/sign-in?next=/topics/cytokine-release-syndrome/&amp;from=gate"' in gate.text
    assert (
        'href="/create-account?next=/topics/cytokine-release-syndrome/&amp;from=gate"' in gate.text
    )
    manifest = {p.id: p for p in load_manifest(Path(client.app.pages.site.site_dir)).pages}  # type: ignore[attr-defined]
    assert manifest[GATED].summary.replace("'", "&#x27;") in gate.text
    again = client.get(f"/topics/{TOPICS[2]}/")
    assert again.status_code == 200 and "set-cookie" not in again.headers
    assert countdown_of(again.text) == "You have read all your free topics."


def test_meter_cookie_flags(client: httpx.Client) -> None:
    response = client.get(f"/topics/{TOPICS[0]}/")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("meter=")
    for flag in ("HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    assert "Secure" not in cookie
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))  # type: ignore[union-attr]
    assert 30 * 86400 - 5 <= max_age <= 30 * 86400


def test_production_cookie_is_secure_and_needs_a_key(settings: Settings) -> None:
    from fastapi.testclient import TestClient

    production = settings.model_copy(update={"env": "production"})
    with TestClient(create_app(production)) as client:
        assert "Secure" in client.get(f"/topics/{TOPICS[0]}/").headers["set-cookie"]
    with pytest.raises(ConfigError, match="SITE_SECRET_KEY is not set"):
        create_app(settings.model_copy(update={"env": "production", "secret_key": None}))


def test_development_key_persists_in_var(settings: Settings) -> None:
    from fastapi.testclient import TestClient

    dev = settings.model_copy(update={"secret_key": None})
    with TestClient(create_app(dev)) as first:
        cookie = first.get(f"/topics/{TOPICS[0]}/").headers["set-cookie"].split(";")[0]
    assert (dev.var_dir / "secret_key").stat().st_mode & 0o077 == 0
    with TestClient(create_app(dev)) as second:
        response = second.get(f"/topics/{TOPICS[1]}/", headers={"cookie": cookie})
    assert countdown_of(response.text) == "You can read 3 more topics before signing in."


@pytest.mark.parametrize("path", ["/", "/about/", "/terms/", "/no-such-page/"])
def test_free_pages_never_count(client: httpx.Client, path: str) -> None:
    response = client.get(path, headers={"cookie": full_cookie()})
    assert response.status_code in (200, 404)
    assert "set-cookie" not in response.headers
    assert countdown_of(response.text) == "You have read all your free topics."
    assert response.headers["cache-control"].startswith("private")


@pytest.mark.parametrize(
    "cookie",
    [
        "meter=garbage",
        "meter=" + MeterCookie(b"another-key-" + b"y" * 30).dumps(MeterState(int(time.time()), ())),
        "meter=1.2.3",
        "meter=" + "A" * 5000,
        'meter="\\x00"; session=',
        "session=" + "z" * 500,
        "meter",
    ],
)
def test_bad_cookies_read_as_a_fresh_visitor(client: httpx.Client, cookie: str) -> None:
    response = client.get(f"/topics/{TOPICS[0]}/", headers={"cookie": cookie})
    assert response.status_code == 200
    assert countdown_of(response.text) == "You can read 4 more topics before signing in."


def test_edited_full_cookie_never_grants_more(client: httpx.Client) -> None:
    name, value = full_cookie().split("=", 1)
    start, tokens, signature = value.split(".")
    edited = f"{name}={start}.{tokens[8:]}.{signature}"  # drop one counted page
    response = client.get(GATED_URL, headers={"cookie": edited})
    assert countdown_of(response.text) == "You can read 4 more topics before signing in."
    assert "set-cookie" in response.headers  # a fresh visitor's meter, not the edited one


def test_signed_in_reader_is_never_metered(client: httpx.Client, settings: Settings) -> None:
    cookie = signed_in_cookie(settings) + "; " + full_cookie()
    response = client.get(GATED_URL, headers={"cookie": cookie})
    assert response.status_code == 200
    assert "meter-countdown" not in response.text
    assert "set-cookie" not in response.headers
    assert response.headers["cache-control"] == "private, no-cache"


@pytest.mark.parametrize("ages", [{"idle_minutes": 8 * 60 + 1}, {"age_days": 8}])
def test_expired_sessions_are_metered(
    client: httpx.Client, settings: Settings, ages: dict[str, int]
) -> None:
    cookie = signed_in_cookie(settings, **ages) + "; " + full_cookie()
    assert client.get(GATED_URL, headers={"cookie": cookie}).status_code == 403


SIDE_DOORS = [
    ("GET", GATED_URL, {}),
    ("GET", f"/topics/{GATED}", {}),
    ("GET", f"/topics/{GATED}/index.html", {}),
    ("GET", f"//topics/{GATED}/", {}),
    ("GET", f"/topics/./{GATED}/", {}),
    ("GET", f"/topics/../topics/{GATED}/", {}),
    ("GET", "/topics/cytokine%2Drelease%2Dsyndrome/", {}),
    ("GET", "/topics/cytokine-release-syndrome%2findex.html", {}),
    ("GET", "/TOPICS/CYTOKINE-RELEASE-SYNDROME/", {}),
    ("GET", f"/topics/{GATED}/?print=1", {}),
    ("GET", f"/topics/{GATED}/index.html?x=1", {}),
    ("HEAD", GATED_URL, {}),
    ("GET", GATED_URL, {"range": "bytes=0-100000"}),
    ("GET", GATED_URL, {"if-none-match": "*"}),
    ("GET", GATED_URL, {"if-modified-since": "Wed, 21 Oct 2015 07:28:00 GMT"}),
    ("GET", GATED_URL, {"x-forwarded-for": "127.0.0.1", "x-original-url": "/"}),
    ("GET", f"/topics/{GATED}.md", {}),
    ("GET", f"/content/topics/{GATED}.md", {}),
    ("GET", f"/topics/{GATED}/index.md", {}),
]


@pytest.mark.parametrize(("method", "target", "headers"), SIDE_DOORS)
def test_no_side_door_shows_a_gated_body(
    live_server: str, body_text: str, method: str, target: str, headers: dict[str, str]
) -> None:
    status, response_headers, body = raw_request(
        live_server, method, target, {"cookie": full_cookie(), **headers}
    )
    assert body_text.encode() not in body
    if status == 301:
        assert response_headers["location"] == GATED_URL
        status, response_headers, body = raw_request(
            live_server, method, GATED_URL, {"cookie": full_cookie()}
        )
    assert status in (403, 404), (target, status)
    if status == 403:
        assert response_headers["cache-control"] == "private, no-store"
        assert method == "HEAD" or b"Sign in to keep reading" in body


def test_published_files_hold_no_metered_body_text(built_site: Path) -> None:
    manifest = load_manifest(built_site)
    pages = {p.file for p in manifest.pages}
    assert not (built_site / "search" / "search_index.json").exists(), "no static search index"
    # Every file under site/ that is not a page: a static index of any kind would be one of these.
    published = {
        str(path.relative_to(built_site)): path.read_text(encoding="utf-8", errors="replace")
        for path in built_site.rglob("*")
        if path.is_file()
        # What's new is a page, but it quotes every topic's changes: check it like the feed.
        and str(path.relative_to(built_site)) not in pages - {"whats-new/index.html"}
    }
    # feeds are a known paywall leak: titles and change summaries only
    assert {"sitemap.xml", "404.html", "shell.html", "whats-new.xml"} <= published.keys()
    for page in manifest.pages:
        if page.access != "metered":
            continue
        html = (built_site / page.file).read_text(encoding="utf-8")
        paragraphs = re.findall(r"<p>([^<]{40,})</p>", html.split('class="topic-body">', 1)[1])
        assert paragraphs, page.id
        for text in paragraphs:
            for name, content in published.items():
                assert text[:40] not in content, (page.id, name)


def test_pages_refuse_other_methods(client: httpx.Client) -> None:
    response = client.post(GATED_URL)
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"


def test_ending_a_session_is_seen_at_once_by_this_worker(
    client: httpx.Client, settings: Settings
) -> None:
    session = signed_in_cookie(settings)
    cookie = session + "; " + full_cookie()
    assert client.get(GATED_URL, headers={"cookie": cookie}).status_code == 200  # now cached
    client.app.pages.store.end(session.split("=", 1)[1])  # type: ignore[attr-defined]
    assert client.get(GATED_URL, headers={"cookie": cookie}).status_code == 403


def test_without_the_cache_a_session_deleted_elsewhere_is_seen_at_once(settings: Settings) -> None:
    from fastapi.testclient import TestClient

    uncached = settings.model_copy(update={"session_cache_seconds": 0})
    session = signed_in_cookie(uncached)
    cookie = session + "; " + full_cookie()
    with TestClient(create_app(uncached)) as client:
        assert client.get(GATED_URL, headers={"cookie": cookie}).status_code == 200
        with Session(make_engine(uncached.database_url)) as db:  # another worker signs out
            db.delete(
                db.get(UserSession, hashlib.sha256(session.split("=", 1)[1].encode()).hexdigest())
            )
            db.commit()
        assert client.get(GATED_URL, headers={"cookie": cookie}).status_code == 403


def test_unverified_reader_reads_with_a_reminder(client: httpx.Client, settings: Settings) -> None:
    cookie = signed_in_cookie(settings, verified=False) + "; " + full_cookie()
    response = client.get(GATED_URL, headers={"cookie": cookie})
    assert response.status_code == 200
    assert "Please confirm your email address" in response.text


def test_unverified_reader_is_metered_when_the_setting_says_so(settings: Settings) -> None:
    from fastapi.testclient import TestClient

    strict = settings.model_copy(update={"unverified_read_unlimited": False})
    cookie = signed_in_cookie(strict, verified=False) + "; " + full_cookie()
    with TestClient(create_app(strict)) as client:
        assert client.get(GATED_URL, headers={"cookie": cookie}).status_code == 403
        verified = signed_in_cookie(strict, email="verified@example.org") + "; " + full_cookie()
        assert client.get(GATED_URL, headers={"cookie": verified}).status_code == 200
