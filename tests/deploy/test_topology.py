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
from search_attack import body_words, gated_topic_found, rebuild, unicode61_joiners
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
        """nginx's log lines in the order they were logged (each worker process buffers its
        own lines, so the file's order is not the requests' order)."""
        time.sleep(1.2)  # nginx writes its access log in buffers flushed every second
        lines = [json.loads(line) for line in self.nginx_log.read_text().splitlines()]
        return sorted(lines, key=lambda line: float(str(line["msec"])))


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
    # The anonymous page view reached Python once, as the page itself (the anonymous door),
    # under nginx's request id: no gate question beside it.
    assert nginx_line["uri"] == "/about/"
    asked = [r for r in logged if r["request_id"] == nginx_line["request_id"]]
    assert [(r["path"], r["status"]) for r in asked] == [("/about/", 200)]


def test_nginx_serves_the_feed_as_atom_as_the_embedded_server_does(front: Front) -> None:
    response = httpx.get(front.base + "/whats-new.xml")
    assert response.status_code == 200 and response.headers["server"] == "nginx"
    assert response.headers["content-type"] == "application/atom+xml"
    assert response.headers["cache-control"] == "public, no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    sitemap = httpx.get(front.base + "/sitemap.xml")
    assert sitemap.status_code == 200 and "atom" not in sitemap.headers["content-type"]


def gate_questions(front: Front, uri: str, count: int, path: str = "/api/gate") -> list[int]:
    """For the last `count` page views of `uri` (nginx's log), how many requests to the API's
    `path` each made (the gate question by default)."""
    views = [line for line in front.nginx_requests() if line["uri"] == uri][-count:]
    asked = [r["request_id"] for r in front.api_requests() if r["path"] == path]
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
        # The published file with only the header's account menu spliced into its slot.
        start = response.content.index(b'<nav class="account-bar"')
        end = response.content.index(b"</nav>", start) + len(b"</nav>")
        menu = response.content[start:end]
        assert b"cached-reader@example.org" in menu and b'action="/sign-out"' in menu
        assert response.content[:start] + b"<!--meter-->" + response.content[end:] == published
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
@pytest.mark.parametrize(("api", "status"), [("notes", 401), ("reader", 200)])
def test_nginx_answers_an_anonymous_notes_read_as_the_api_would(
    front: Front, method: str, api: str, status: int
) -> None:
    path = f"/api/{api}/{GATED}"
    direct = httpx.request(method, front.api + path)
    time.sleep(0.3)  # the API writes its log lines every 0.1 s
    asked = len([r for r in front.api_requests() if r["path"] == path])
    through = httpx.request(method, front.base + path)
    assert through.status_code == direct.status_code == (status if method == "GET" else 405)
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
    # Every anonymous view is the API's own answer (the anonymous door), none asks the gate.
    assert gate_questions(front, "/about/", 3, path="/about/") == [1, 1, 1]
    assert gate_questions(front, "/about/", 3) == [0, 0, 0]


#: What a page view's answer is: everything but the connection's own headers and the request id.
CONNECTION_HEADERS = {"date", "server", "connection", "x-request-id", "keep-alive"}


def answer(base: str, method: str, target: str, headers: dict[str, str]) -> dict[str, object]:
    """One page view's status, body and headers; a cookie's value (it signs the time) elided."""
    status, got, body = raw_request(base, method, target, headers)
    kept = {k: v for k, v in got.items() if k not in CONNECTION_HEADERS}
    if "set-cookie" in kept:
        name, _, rest = kept["set-cookie"].partition("=")
        kept["set-cookie"] = name + "=...;" + rest.partition(";")[2]
    return {"status": status, "headers": kept, "body": body}


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("GET", f"/topics/{TOPICS[0]}/", {}),  # a first visit: counted, meter cookie set
        ("GET", f"/topics/{TOPICS[0]}/", {"cookie": "fill"}),  # past the meter: the gate
        ("HEAD", f"/topics/{TOPICS[1]}/", {}),
        ("GET", f"/topics/{TOPICS[1]}/", {"sec-purpose": "prefetch"}),
        ("GET", f"/topics/{TOPICS[1]}/", {"purpose": "prefetch"}),
        ("GET", f"/topics/{TOPICS[1]}/", {"range": "bytes=0-99"}),
        ("GET", f"/topics/{TOPICS[1]}/", {"if-none-match": "*"}),
        ("GET", f"/topics/{TOPICS[1]}/", {"if-modified-since": "Sat, 01 Jan 2000 00:00:00 GMT"}),
        ("GET", f"/topics/{TOPICS[1].upper()}/index.html", {}),  # many URLs, one page: 301
        ("GET", "/no-such-topic/", {}),
        ("HEAD", "/no-such-topic/", {"cookie": "fill"}),
        ("GET", "/", {}),
        ("GET", "/?signed-out", {}),
    ],
)
def test_the_anonymous_door_answers_as_the_embedded_server(
    front: Front, method: str, target: str, headers: dict[str, str]
) -> None:
    """nginx's door for a visitor with no session cookie answers byte for byte as `site-api
    serve` alone (the embedded door), headers included: only the connection's own differ."""
    headers = {**headers, "accept-encoding": "identity"}  # nginx would gzip what it may
    if headers.get("cookie") == "fill":
        headers["cookie"] = full_cookie()
    through = answer(front.base, method, target, headers)
    direct = answer(front.api, method, target, headers)
    assert through == direct


@pytest.mark.parametrize(
    ("cookie", "door"),
    [
        (f"session={'e' * 43}", "gate"),  # shaped as we issue them: auth_request, not stored
        ("session=ended-long-ago", "anonymous"),  # no token we issue looks like this
        (f"SESSION={'e' * 43}", "anonymous"),  # not the API's cookie name (case-sensitive)
        (f"session={'e' * 43}; session={'f' * 43}", "anonymous"),  # the API reads the last
    ],
)
def test_whichever_door_a_session_cookie_takes_the_api_decides(
    front: Front, cookie: str, door: str
) -> None:
    """nginx picks the door by the session cookie alone, and the door decides nothing: a cookie
    that names no live session gets the same anonymous answer, countdown and meter cookie,
    through auth_request or straight from the API."""
    topic = f"/topics/{TOPICS[0]}/"
    uri = f"{topic}?door={len(cookie)}-{cookie[:8]}"  # this view's own line in nginx's log
    response = httpx.get(front.base + uri, headers={"cookie": cookie})
    assert response.status_code == 200
    assert countdown_of(response.text) == "You can read 4 more topics before signing in."
    assert response.headers["set-cookie"].startswith("meter=")
    asked_gate = door == "gate"
    assert gate_questions(front, uri, 1) == [int(asked_gate)]
    assert gate_questions(front, uri, 1, path=topic) == [int(not asked_gate)]


@pytest.mark.parametrize(
    "session",
    [
        f"session={'e' * 43}",  # forged, shaped as we issue them: nginx asks the gate
        "session=",  # empty, and below not shaped as ours: straight to the API
        "session=not-a-token",
        f"SESSION={'e' * 43}",
        f"session={'e' * 43}; session={'f' * 43}",
    ],
)
def test_no_session_cookie_the_api_does_not_know_reads_past_the_meter(
    front: Front, body_text: str, session: str
) -> None:
    """Whichever door a forged, empty or malformed session cookie takes, a visitor whose meter is
    spent meets the gate, and nginx's gate cache keeps nothing of it (asked again, refused again)."""
    before = gate_cache_entries(front)
    for _ in range(2):
        response = httpx.get(
            front.base + GATED_URL, headers={"cookie": f"{session}; {full_cookie()}"}
        )
        assert response.status_code == 403 and body_text not in response.text
        assert response.headers["cache-control"] == "private, no-store"
    assert gate_cache_entries(front) - before == set()


def test_gate_endpoints_answer_nginx_only(front: Front) -> None:
    for path in ("/api/gate", "/api/gate/page"):
        status, _, _ = raw_request(front.base, "GET", path, {"x-original-uri": GATED_URL})
        assert status == 404


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("MAS", "/topics/macrophage-activation-syndrome/"),
        ("HLH", "/topics/haemophagocytic-lymphohistiocytosis/"),
        ("hemophagocytic", "/topics/haemophagocytic-lymphohistiocytosis/"),
        ("ferritn", "/topics/hyperferritinaemia/"),
        ("hyperferr", "/topics/hyperferritinaemia/"),
    ],
)
def test_search_through_nginx(front: Front, query: str, first: str) -> None:
    answer = httpx.get(front.base + "/api/search", params={"q": query})
    assert answer.status_code == 200 and answer.headers["server"] == "nginx"
    assert answer.headers["cache-control"] == "private, no-store"
    assert answer.json()["results"][0]["url"] == first
    page = httpx.get(front.base + "/search", params={"q": query})
    assert page.status_code == 200 and f'<a href="{first}">' in page.text
    assert "This site is intended for healthcare professionals" in page.text


def test_search_snippets_through_nginx_only_for_entitled_readers(front: Front) -> None:
    hlh = "/topics/haemophagocytic-lymphohistiocytosis/"
    past = httpx.get(
        front.base + "/api/search?q=etoposide", headers={"cookie": full_cookie()}
    ).json()
    assert past["results"][0]["url"] == hlh and past["results"][0]["snippet"] is None
    cookie = new_session(front.settings, email="nginx-search@example.org")
    signed = httpx.get(front.base + "/api/search?q=etoposide", headers={"cookie": cookie}).json()
    assert "<mark>etoposide</mark>" in signed["results"][0]["snippet"]


def test_a_spent_meter_rebuilds_nothing_through_nginx(front: Front, built_site: Path) -> None:
    """The attack of issue 21 through nginx: joined words and prefix extension learn nothing."""
    hlh = "haemophagocytic-lymphohistiocytosis"
    words = body_words(built_site, hlh)
    found = gated_topic_found(front.base, full_cookie(), f"/topics/{hlh}/")
    seed = words[40:42]
    assert found(" ".join(seed))
    assert rebuild(found, seed, (*unicode61_joiners()[:3], " ")) == []


@pytest.mark.parametrize(
    "path", ["/", GATED_URL, "/no-such/", "/sign-in", "/api/notes", "/search?q=x", "/js"]
)
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
    search box (suggestions from /api/search), all with the CSP on and nothing it had to block."""
    page.add_init_script(CSP_PROBE)
    page.goto(front.base + f"/topics/{TOPICS[0]}/")
    expect = page.locator(".meter-countdown")
    assert "You can read 4 more topics before signing in." in expect.inner_text()
    page.get_by_text("to add page annotations").wait_for()
    search = page.locator("#site-search-q")
    search.press_sequentially("kawasaki", delay=20)
    option = page.locator("#site-search-list [role=option]").first
    option.wait_for(timeout=10_000)
    assert "Kawasaki disease" in option.inner_text()
    search.press("Enter")  # no suggestion highlighted: the results page
    page.wait_for_url("**/search?q=kawasaki")
    assert page.locator(".search-result__title a").first.inner_text() == "Kawasaki disease"
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


# --- hardening (issue 15): what the production door must do like the embedded one -------------


def test_notes_list_and_search_through_nginx(front: Front) -> None:
    cookie = new_session(front.settings, email="list-reader@example.org")
    with httpx.Client(base_url=front.base) as browser:
        browser.cookies.set("session", cookie.split("=", 1)[1])
        for path in ("/api/notes", "/api/notes?q=kawasaki&limit=5"):
            response = browser.get(path, follow_redirects=False)
            assert response.status_code == 200, (path, response.headers)
            assert response.json()["total"] == 0
        slashed = browser.get("/api/notes/?q=x", follow_redirects=False)
        assert slashed.status_code == 307 and slashed.headers["location"] == "/api/notes?q=x"
        followed = browser.get("/api/notes/?q=x", follow_redirects=True)
        assert followed.status_code == 200 and len(followed.history) == 1


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_through_nginx_is_answered_by_a_worker(front: Front, path: str) -> None:
    response = httpx.get(front.base + path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("path", ["/", GATED_URL, "/sign-in", f"/api/notes/{GATED}"])
def test_a_hundred_headers_are_not_a_server_error(front: Front, path: str, body_text: str) -> None:
    headers = {f"x-probe-{i}": "x" for i in range(100)}
    headers["cookie"] = full_cookie()
    response = httpx.get(front.base + path, headers=headers)
    assert response.status_code < 500, (path, response.status_code)
    assert body_text not in response.text


@pytest.mark.parametrize("path", ["/reset-password?token=made-up", "/verify-email?token=x"])
def test_token_pages_keep_their_no_referrer_through_nginx(front: Front, path: str) -> None:
    response = httpx.get(front.base + path)
    assert response.headers.get_list("referrer-policy") == ["no-referrer"]


@pytest.mark.parametrize(
    "path", ["/assets/javascripts/notes.js", f"/topics/{TOPICS[0]}/", "/no-such/", "/sign-in"]
)
def test_no_header_twice_even_for_an_unsatisfiable_range(front: Front, path: str) -> None:
    headers = {"range": "bytes=999999-", "accept-encoding": "identity"}  # gzip skips ranges
    response = httpx.get(front.base + path, headers=headers)
    assert response.status_code != 416
    names = [name.lower() for name, _ in response.headers.multi_items()]
    assert [n for n in set(names) if names.count(n) > 1 and n != "set-cookie"] == []


def test_the_404_page_varies_by_cookie(front: Front) -> None:
    response = httpx.get(front.base + "/no-such/")
    assert response.status_code == 404
    assert response.headers.get_list("vary") == ["Cookie"]


def gate_cache_files(front: Front) -> int:
    return len(gate_cache_entries(front))


def gate_cache_entries(front: Front) -> set[str]:
    """The names of the answers nginx's gate cache holds now."""
    return {p.name for p in (front.nginx_log.parent / "gate-cache").rglob("*") if p.is_file()}


def test_gate_cache_keys_only_the_session_and_the_page(front: Front, built_site: Path) -> None:
    cookie = new_session(front.settings, email="query-reader@example.org")
    before = gate_cache_files(front)
    with httpx.Client(base_url=front.base, headers={"cookie": cookie}) as browser:
        for i in range(40):
            response = browser.get(f"{GATED_URL}?utm={i}", headers={"cookie": f"{cookie}; x{i}=1"})
            assert response.status_code == 200
        # Two pages read within the reuse time are still two different pages.
        other = browser.get(f"/topics/{TOPICS[1]}/")
        assert f"/topics/{TOPICS[1]}/" in str(other.url) and "<h1" in other.text
        published = (built_site / "topics" / TOPICS[1] / "index.html").read_text()
        assert other.text.split("<h1", 1)[1][:80] == published.split("<h1", 1)[1][:80]
    assert gate_cache_files(front) - before <= 2


ODD_SESSION_COOKIES = [
    "SESSION={token}",
    "Session={token}",
    # The API reads the last of two session cookies; nginx's $cookie_session the first.
    "session={token}; session=ended-long-ago",
    "session={token}; sEssion=x; session=",
]


@pytest.mark.parametrize("spelling", ODD_SESSION_COOKIES)
def test_gate_cache_matches_the_session_cookie_as_the_api_does(
    front: Front, body_text: str, spelling: str
) -> None:
    reader_email = f"exact-cookie-{ODD_SESSION_COOKIES.index(spelling)}@example.org"
    cookie = new_session(front.settings, email=reader_email)
    token = cookie.split("=", 1)[1]
    meter = full_cookie()  # anonymous to the API, this visitor has no free page left
    reader = {"cookie": f"{cookie}; {meter}"}
    odd = {"cookie": f"{spelling.format(token=token)}; {meter}"}
    # The reader's answer is cached for 1 s; within it, a cookie the API reads as anonymous
    # (this visitor's meter used up) must meet the gate, not the reader's answer. (Before the
    # exact match, each of these read the gated body from the cache.)
    primed = httpx.get(front.base + GATED_URL, headers=reader)
    refused = httpx.get(front.base + GATED_URL, headers=odd)
    assert primed.status_code == 200 and body_text in primed.text
    assert refused.status_code == 403 and body_text not in refused.text


def test_a_session_cookie_the_api_reads_is_still_reused(front: Front, body_text: str) -> None:
    cookie = new_session(front.settings, email="spaced-cookie-reader@example.org")
    token = cookie.split("=", 1)[1]
    # Spaces around name and value are stripped by the API: the same session, the same key.
    for spelling in (f"session={token}", f"x=1;  session = {token} ; y=2"):
        response = httpx.get(front.base + GATED_URL, headers={"cookie": spelling})
        assert response.status_code == 200 and body_text in response.text
    assert gate_questions(front, GATED_URL, 2) == [1, 0]


def test_long_keys_log_nothing_at_error_level(front: Front) -> None:
    cookie = new_session(front.settings, email="long-key-reader@example.org")
    error_log = front.nginx_log.parent / "error.log"
    start = error_log.stat().st_size
    headers = {"cookie": f"{cookie}; filler={'f' * 3000}"}
    for target in (f"{GATED_URL}?q={'a' * 4000}", "/topics/" + "b" * 3000 + "/"):
        response = httpx.get(front.base + target, headers=headers)
        assert response.status_code in {200, 404}
    with error_log.open("rb") as log:
        log.seek(start)
        added = log.read().decode(errors="replace")
    assert "[error]" not in added and "[crit]" not in added, added


def test_parallel_guesses_through_nginx_check_exactly_the_limit(front: Front) -> None:
    """Two workers on PostgreSQL: 30 guesses at once are 10 checked passwords and 20 refusals,
    and the right password after them is refused too."""
    from concurrent.futures import ThreadPoolExecutor

    email = "parallel-guess@example.org"
    engine = make_engine(front.settings.database_url)
    create_user(engine, email, PASSWORD, verified=True)
    engine.dispose()
    with httpx.Client(base_url=front.base) as browser:
        browser.get("/sign-in")
        token = browser.cookies["csrf"]
        cookies = {"csrf": token}

        def guess(password: str) -> int:
            data = {"email": email, "password": password, "csrf_token": token}
            with httpx.Client(base_url=front.base, cookies=cookies, timeout=120) as one:
                return one.post("/sign-in", data=data).status_code

        with ThreadPoolExecutor(max_workers=30) as pool:
            statuses = list(pool.map(guess, ["wrong password here"] * 30))
        assert sorted(statuses) == [400] * 10 + [429] * 20
        assert guess(PASSWORD) == 429
