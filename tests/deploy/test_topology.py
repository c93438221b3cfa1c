"""The production topology: real nginx with deploy/'s config in front of `site-api serve`."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import TEST_KEY, raw_request, require
from pg import TEMPLATE, admin
from servers import nginx_binary, topology
from visitors import GATED, GATED_URL, PASSWORD, TOPICS, countdown_of, full_cookie, sign_in
from visitors import signed_in_cookie as new_session

from site_api.accounts.sessions import SessionStore
from site_api.accounts.users import create_user
from site_api.config import Settings
from site_api.db import make_engine

pytestmark = [pytest.mark.nginx, pytest.mark.postgres]


@dataclass(frozen=True)
class Front:
    """nginx's base URL, the API's own, the API's JSON request log, and its settings."""

    base: str
    api: str
    api_log: Path
    nginx_log: Path
    settings: Settings

    def api_requests(self) -> list[dict[str, object]]:
        lines = self.api_log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def nginx_requests(self) -> list[dict[str, object]]:
        time.sleep(1.2)  # nginx writes its access log in buffers flushed every second
        return [json.loads(line) for line in self.nginx_log.read_text().splitlines()]


@pytest.fixture(scope="module")
def front(
    built_site: Path,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: str,
    postgres_template: str,
) -> Iterator[Front]:
    """`site-api serve --workers 2` on PostgreSQL behind nginx (unprivileged), on loopback."""
    del postgres_template  # only needed to exist
    nginx = nginx_binary()
    require(nginx is not None, "nginx (Debian package 'nginx')")
    assert nginx is not None
    admin(postgres_server, f"CREATE DATABASE topology TEMPLATE {TEMPLATE}")  # made by the fixture
    database_url = postgres_server + "topology"
    tmp = tmp_path_factory.mktemp("topology")
    var = tmp / "var"
    env = {
        **os.environ,
        "SITE_VAR_DIR": str(var),
        "SITE_DATABASE_URL": database_url,
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_SESSION_CACHE_SECONDS": "1",  # nginx reuses a signed-in answer for 1 s
        "SITE_LOG_LEVEL": "debug",  # a line for every gate question too, to count them
        "SITE_TRUSTED_PROXIES": '["127.0.0.1"]',  # nginx, as README's production settings say
    }
    with topology(nginx, built_site, tmp, env, workers=2) as running:
        settings = Settings(
            site_dir=built_site,
            var_dir=var,
            secret_key=TEST_KEY,
            database_url=database_url,
            session_cache_seconds=1,
        )
        yield Front(running.base, running.api, running.api_log, running.nginx_log, settings)


def test_countdown_on_five_topics_then_the_gate(front: Front, body_text: str) -> None:
    with httpx.Client(base_url=front.base) as browser:  # keeps the meter cookie, as a browser
        expected = [4, 3, 2, 1]
        for topic, left in zip(TOPICS, [*expected, 0], strict=True):
            response = browser.get(f"/topics/{topic}/")
            assert response.status_code == 200
            assert response.headers["server"] == "nginx"
            assert response.headers["cache-control"] == "private, no-cache"
            assert "set-cookie" in response.headers and "HttpOnly" in response.headers["set-cookie"]
            text = countdown_of(response.text)
            if left:
                assert (
                    text
                    == f"You can read {left} more topic{'s' if left > 1 else ''} before signing in."
                )
            else:
                assert text == "This is the last topic you can read before signing in."
            assert "<!--meter-->" not in response.text
        gate = browser.get(GATED_URL)
        assert gate.status_code == 403
        assert gate.headers["cache-control"] == "private, no-store"
        assert body_text not in gate.text
        assert '<h1 id="gate-title">Cytokine release syndrome</h1>' in gate.text
        again = browser.get(f"/topics/{TOPICS[0]}/")
        assert countdown_of(again.text) == "You have read all your free topics."
        assert "set-cookie" not in again.headers


def test_sign_in_through_nginx_then_read_past_the_meter(front: Front, body_text: str) -> None:
    engine = make_engine(front.settings.database_url)
    create_user(engine, "nginx-sign-in@example.org", PASSWORD, verified=True)
    engine.dispose()
    with httpx.Client(base_url=front.base) as browser:  # a visitor whose free pages are spent
        browser.cookies.set("meter", full_cookie().split("=", 1)[1])
        assert browser.get(GATED_URL).status_code == 403
        signed = sign_in(browser, "nginx-sign-in@example.org", PASSWORD, GATED_URL)
        assert signed.status_code == 303 and signed.headers["location"] == GATED_URL
        [cookie] = [c for c in signed.headers.get_list("set-cookie") if c.startswith("session=")]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert signed.headers["server"] == "nginx"
        page = browser.get(GATED_URL)
        assert page.status_code == 200 and body_text in page.text
        assert "meter-countdown" not in page.text


def test_signed_in_reader_reads_the_gated_page_and_keeps_a_note(
    front: Front, body_text: str
) -> None:
    cookie = new_session(front.settings, email="nginx-reader@example.org")
    headers = {"cookie": cookie + "; " + full_cookie()}
    response = httpx.get(front.base + GATED_URL, headers=headers)
    assert response.status_code == 200
    assert body_text in response.text
    assert "meter-countdown" not in response.text and "set-cookie" not in response.headers
    saved = httpx.put(
        f"{front.base}/api/notes/{GATED}",
        json={"text": "Check ferritin", "version": None},
        headers=headers,
    )
    assert saved.status_code == 201, saved.text
    read = httpx.get(f"{front.base}/api/notes/{GATED}", headers=headers)
    assert read.status_code == 200 and read.json()["text"] == "Check ferritin"


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("GET", f"//topics/{GATED}/", {}),
        ("GET", f"/topics/{GATED}/index.html", {}),
        ("GET", f"/topics/{GATED}", {}),
        ("GET", "/TOPICS/CYTOKINE-RELEASE-SYNDROME/", {}),
        ("GET", "/topics/cytokine-release-syndrome%2findex.html", {}),
        ("GET", "/topics/cytokine%2Drelease%2Dsyndrome/", {}),
        ("GET", f"/topics/../topics/{GATED}/", {}),
        ("GET", f"/topics/{GATED}/?print=1", {}),
        ("HEAD", GATED_URL, {}),
        ("GET", GATED_URL, {"range": "bytes=0-100000"}),
        ("GET", GATED_URL, {"if-none-match": "*"}),
        ("GET", GATED_URL, {"x-original-uri": "/", "x-original-method": "HEAD"}),
        ("GET", f"/topics/{GATED}.md", {}),
        ("GET", f"/topics/{GATED}/index.md", {}),
        ("GET", "/site-manifest.json", {}),
        ("GET", "/.no-page", {}),
    ],
)
def test_no_side_door_shows_a_gated_body(
    front: Front, body_text: str, method: str, target: str, headers: dict[str, str]
) -> None:
    status, response_headers, body = raw_request(
        front.base, method, target, {"cookie": full_cookie(), **headers}
    )
    assert body_text.encode() not in body
    if status == 301:
        assert response_headers["location"] == GATED_URL
        status, response_headers, body = raw_request(
            front.base, method, GATED_URL, {"cookie": full_cookie()}
        )
        assert body_text.encode() not in body
    assert status in (403, 404), (target, status)
    if status == 403:
        assert response_headers["cache-control"] == "private, no-store"
        assert method == "HEAD" or b"Sign in to keep reading" in body


def test_head_spends_no_free_page(front: Front) -> None:
    status, headers, body = raw_request(front.base, "HEAD", f"/topics/{TOPICS[0]}/")
    assert status == 200 and body == b"" and "set-cookie" not in headers


def test_unknown_page_is_the_404_page_with_a_countdown(front: Front) -> None:
    response = httpx.get(front.base + "/no-such-topic/", headers={"cookie": full_cookie()})
    assert response.status_code == 404
    assert countdown_of(response.text) == "You have read all your free topics."


def test_static_assets_never_reach_python(front: Front, built_site: Path) -> None:
    css = next((built_site / "assets" / "stylesheets").glob("main.*.min.css")).name
    asset = f"/assets/stylesheets/{css}"
    response = httpx.get(front.base + asset)
    assert response.status_code == 200 and response.headers["server"] == "nginx"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    plain = httpx.get(front.base + "/assets/javascripts/notes.js")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "public, no-cache"
    page = httpx.get(front.base + "/about/")
    assert page.status_code == 200
    [nginx_line] = front.nginx_requests()[-1:]
    logged = front.api_requests()
    assert not [r for r in logged if str(r["path"]).startswith("/assets/")]
    # The page view reached Python only as the gate question, under nginx's request id.
    assert nginx_line["uri"] == "/about/"
    asked = [r for r in logged if r["request_id"] == nginx_line["request_id"]]
    assert [(r["path"], r["status"]) for r in asked] == [("/api/gate", 204)]


def gate_questions(front: Front, uri: str, count: int) -> list[int]:
    """For the last `count` page views of `uri` (nginx's log), how many gate questions each asked."""
    views = [line for line in front.nginx_requests() if line["uri"] == uri][-count:]
    asked = [r["request_id"] for r in front.api_requests() if r["path"] == "/api/gate"]
    return [asked.count(view["request_id"]) for view in views]


def test_signed_in_answer_is_reused_briefly_and_the_file_sent_as_is(
    front: Front, built_site: Path
) -> None:
    cookie = new_session(front.settings, email="cached-reader@example.org")
    # identity: a length to compare (browsers ask for gzip, and nginx compresses pages)
    headers = {"cookie": cookie + "; " + full_cookie(), "accept-encoding": "identity"}
    published = (built_site / "topics" / GATED / "index.html").read_bytes()
    for _ in range(3):
        response = httpx.get(front.base + GATED_URL, headers=headers)
        assert response.status_code == 200
        # Nothing to splice for a reader: the published file, byte for byte, with its length.
        assert response.content == published
        assert response.headers["content-length"] == str(len(published))
        assert response.headers["cache-control"] == "private, no-cache"
    assert gate_questions(front, GATED_URL, 3) == [1, 0, 0]
    # Ended elsewhere (sign out everywhere): nginx and the workers trust it 1 s at most.
    SessionStore(
        make_engine(front.settings.database_url),
        idle=timedelta(hours=1),
        absolute=timedelta(days=1),
    ).end(cookie.split("=", 1)[1])
    time.sleep(2.5)
    after = httpx.get(front.base + GATED_URL, headers=headers)
    assert after.status_code == 403 and published not in after.content


@pytest.mark.parametrize("method", ["GET", "HEAD"])  # the API allows no HEAD: nor does nginx
def test_nginx_answers_an_anonymous_notes_read_as_the_api_would(front: Front, method: str) -> None:
    path = f"/api/notes/{GATED}"
    direct = httpx.request(method, front.api + path)
    time.sleep(0.3)  # the API writes its log lines every 0.1 s
    asked = len([r for r in front.api_requests() if r["path"] == path])
    through = httpx.request(method, front.base + path)
    assert through.status_code == direct.status_code == (401 if method == "GET" else 405)
    assert through.content == direct.content
    for name in ("content-type", "cache-control", "x-content-type-options", "referrer-policy"):
        assert through.headers.get_list(name) == direct.headers.get_list(name), name
    time.sleep(0.3)
    answered_by_nginx = method == "GET"
    now = len([r for r in front.api_requests() if r["path"] == path])
    assert now == asked + (0 if answered_by_nginx else 1)


def test_notes_writes_and_reads_with_a_session_cookie_still_reach_the_api(front: Front) -> None:
    path = f"/api/notes/{GATED}"
    asked = len([r for r in front.api_requests() if r["path"] == path])
    write = httpx.put(front.base + path, json={"text": "x", "version": None})
    assert write.status_code == 401 and write.json() == {"detail": "Sign in first."}
    assert write.headers.get_list("cache-control") == ["private, no-store"]
    stale = httpx.get(front.base + path, headers={"cookie": "session=ended-long-ago"})
    assert stale.status_code == 401 and stale.headers.get_list("cache-control") == [
        "private, no-store"
    ]
    time.sleep(0.3)  # the API writes its log lines every 0.1 s
    assert len([r for r in front.api_requests() if r["path"] == path]) == asked + 2


def test_anonymous_answers_are_never_reused(front: Front) -> None:
    with httpx.Client(base_url=front.base) as visitor:
        for _ in range(3):
            response = visitor.get("/about/")
            assert response.status_code == 200 and "meter-countdown" in response.text
    assert gate_questions(front, "/about/", 3) == [1, 1, 1]


def test_gate_endpoints_answer_nginx_only(front: Front) -> None:
    for path in ("/api/gate", "/api/gate/page"):
        status, _, _ = raw_request(front.base, "GET", path, {"x-original-uri": GATED_URL})
        assert status == 404


@pytest.mark.parametrize("path", ["/", GATED_URL, "/no-such/", "/sign-in", "/api/notes", "/js"])
def test_security_headers_once_on_every_door(front: Front, path: str) -> None:
    target = "/assets/javascripts/notes.js" if path == "/js" else path
    response = httpx.get(front.base + target, headers={"cookie": full_cookie()})
    for name, value in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("x-frame-options", "DENY"),
    ]:
        assert response.headers.get_list(name) == [value], (target, name)
    [csp] = response.headers.get_list("content-security-policy")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["script-src"].startswith("'self' 'sha256-")
    assert directives["frame-ancestors"] == "'none'"


def test_health_through_the_workers(front: Front) -> None:
    assert httpx.get(front.api + "/healthz").json() == {"status": "ok"}
    assert httpx.get(front.api + "/readyz").status_code == 200


CSP_PROBE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile));
"""


@pytest.mark.browser
def test_pages_work_in_chromium_under_nginx_and_its_csp(front: Front, page: Any) -> None:
    """A reader's view of the production door: countdown, notes invitation, the site's own
    search (a web worker and the index), all with the CSP on and nothing it had to block."""
    page.add_init_script(CSP_PROBE)
    page.goto(front.base + f"/topics/{TOPICS[0]}/")
    expect = page.locator(".meter-countdown")
    assert "You can read 4 more topics before signing in." in expect.inner_text()
    page.get_by_text("to keep notes").wait_for()
    search = page.locator(".md-search__input")
    search.click()
    # Material says this once its worker has loaded the index; typing earlier can be dropped.
    page.locator(".md-search-result__meta", has_text="Type to start searching").wait_for()
    search.press_sequentially("kawasaki", delay=20)
    page.locator(".md-search-result__item").first.wait_for(timeout=10_000)
    assert "Kawasaki disease" in page.locator(".md-search-result__item").first.inner_text()
    assert page.evaluate("window.__csp") == []


@pytest.mark.browser
def test_signed_in_note_shows_in_chromium_under_nginx(front: Front, page: Any) -> None:
    cookie = new_session(front.settings, email="chromium-reader@example.org")
    headers = {"cookie": cookie}
    saved = httpx.put(
        f"{front.base}/api/notes/{GATED}",
        json={"text": "Haematology on call 0161 555 0123", "version": None},
        headers=headers,
    )
    assert saved.status_code == 201
    page.context.add_cookies(
        [{"name": "session", "value": cookie.split("=", 1)[1], "url": front.base}]
    )
    page.add_init_script(CSP_PROBE)
    page.goto(front.base + GATED_URL)
    page.get_by_text("Haematology on call").wait_for()
    assert page.get_by_role("link", name="0161 555 0123").get_attribute("href") == "tel:01615550123"
    assert page.locator(".meter-countdown").count() == 0
    assert page.evaluate("window.__csp") == []
