"""`GET /api/gate`, the answer nginx's auth_request gets for every page (deploy/nginx.conf).

The same decision as the embedded server (test_gate.py), spoken in headers: which file to serve,
what goes in the slot, which meter cookie to set, and whether nginx may reuse the answer.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from test_doors import FORWARDED_LINES
from visitors import GATED_URL, TOPICS, full_cookie, signed_in_cookie

from site_api.config import InstitutionSetting, Settings
from site_api.serving.gate import NO_PAGE_FILE
from site_api.web.app import create_app

PAGE = f"/topics/{TOPICS[0]}/"
FILE = f"/topics/{TOPICS[0]}/index.html"


def ask(client: httpx.Client, uri: str, cookie: str = "", method: str = "GET") -> httpx.Response:
    headers = {"x-original-uri": uri, "x-original-method": method}
    if cookie:
        headers["cookie"] = cookie
    return client.get("/api/gate", headers=headers)


def test_first_visit_is_counted_and_never_reusable(client: httpx.Client) -> None:
    answer = ask(client, PAGE)
    assert answer.status_code == 204
    assert answer.headers["x-page-file"] == FILE
    assert "You can read 4 more topics before signing in." in answer.headers["x-meter-countdown"]
    assert answer.headers["x-meter-set-cookie"].startswith("meter=")
    assert "HttpOnly" in answer.headers["x-meter-set-cookie"]
    assert answer.headers["cache-control"] == "no-store"
    assert "x-accel-expires" not in answer.headers


def test_a_counted_page_read_again_is_still_not_reusable(client: httpx.Client) -> None:
    cookie = ask(client, PAGE).headers["x-meter-set-cookie"].split(";", 1)[0]
    again = ask(client, PAGE, cookie)
    assert again.status_code == 204 and "x-meter-set-cookie" not in again.headers
    assert "You can read 4 more topics" in again.headers["x-meter-countdown"]
    assert again.headers["cache-control"] == "no-store"
    assert "x-accel-expires" not in again.headers


def test_head_spends_no_free_page(client: httpx.Client) -> None:
    answer = ask(client, PAGE, method="HEAD")
    assert answer.status_code == 204 and "x-meter-set-cookie" not in answer.headers


def test_past_the_meter_is_403(client: httpx.Client) -> None:
    answer = ask(client, GATED_URL, full_cookie())
    assert answer.status_code == 403
    assert "x-page-file" not in answer.headers
    assert answer.headers["cache-control"] == "no-store"


def test_other_spellings_are_401_with_the_canonical_location(client: httpx.Client) -> None:
    answer = ask(client, f"/topics/{TOPICS[0]}/index.html")
    assert answer.status_code == 401
    assert answer.headers["x-gate-location"] == PAGE
    assert "x-page-file" not in answer.headers and "x-meter-set-cookie" not in answer.headers


def test_unknown_page_names_a_file_that_never_exists(client: httpx.Client) -> None:
    answer = ask(client, "/no-such-topic/")
    assert answer.status_code == 204 and answer.headers["x-page-file"] == NO_PAGE_FILE


def test_signed_in_answer_is_reusable_for_the_session_cache_time(
    client: httpx.Client, settings: Settings
) -> None:
    answer = ask(client, GATED_URL, signed_in_cookie(settings) + "; " + full_cookie())
    assert answer.status_code == 204
    assert answer.headers["x-page-file"] == "/topics/cytokine-release-syndrome/index.html"
    # The header's menu for this reader (no countdown), spliced by nginx like the countdown.
    slot = answer.headers["x-meter-countdown"]
    assert "account-menu" in slot and "reader@example.org" in slot and "meter-countdown" not in slot
    assert "x-meter-set-cookie" not in answer.headers
    assert answer.headers["x-accel-expires"] == str(int(settings.session_cache_seconds)) == "5"
    assert "cache-control" not in answer.headers  # nginx would not store a no-store answer


def test_unverified_reader_gets_the_reminder_in_the_slot(
    client: httpx.Client, settings: Settings
) -> None:
    answer = ask(client, PAGE, signed_in_cookie(settings, verified=False))
    assert answer.status_code == 204
    assert "Please confirm your email address" in answer.headers["x-meter-countdown"]


@pytest.mark.parametrize("cookie", ["session=not-a-live-session", "session="])
def test_a_dead_session_cookie_is_an_anonymous_answer(client: httpx.Client, cookie: str) -> None:
    answer = ask(client, PAGE, cookie)
    assert answer.headers["cache-control"] == "no-store"
    assert "x-accel-expires" not in answer.headers
    assert "x-meter-set-cookie" in answer.headers


def test_without_the_session_cache_nothing_is_reusable(settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from site_api.web.app import create_app

    uncached = settings.model_copy(update={"session_cache_seconds": 0})
    with TestClient(create_app(uncached)) as client:
        answer = ask(client, PAGE, signed_in_cookie(uncached))
    assert answer.status_code == 204 and "account-menu" in answer.headers["x-meter-countdown"]
    assert answer.headers["cache-control"] == "no-store"
    assert "x-accel-expires" not in answer.headers


def test_a_remembered_session_is_reusable_only_for_what_is_left_of_its_trust(
    client: httpx.Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nginx's reuse ends when the worker's own memory of the session does: the two caches
    never stack, so a signed-out cookie stops reading within the session cache time."""
    import time

    from site_api.accounts import sessions

    cookie = signed_in_cookie(settings)
    first = ask(client, GATED_URL, cookie)
    assert first.headers["x-accel-expires"] == "5"
    later = time.monotonic() + 3.6
    monkeypatch.setattr(sessions.time, "monotonic", lambda: later)
    again = ask(client, GATED_URL, cookie)  # answered from this worker's memory
    assert again.status_code == 204
    assert again.headers["x-accel-expires"] == "1"


@pytest.mark.parametrize("uri", ["/no-such-topic/", "/topics/Kawasaki-Disease/"])
def test_only_a_real_pages_answer_is_reusable(
    client: httpx.Client, settings: Settings, uri: str
) -> None:
    """Unknown paths and other spellings are endless: their answers would fill nginx's cache."""
    answer = ask(client, uri, signed_in_cookie(settings))
    assert answer.status_code in {204, 401}
    assert "x-accel-expires" not in answer.headers
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("peer", "lines", "reads"), FORWARDED_LINES)
def test_every_x_forwarded_for_line_counts_at_the_gate_answer(
    settings: Settings, peer: str, lines: list[str], reads: bool
) -> None:
    institutions = [InstitutionSetting(name="St Elsewhere", ranges=["10.20.0.0/16"])]
    s = settings.model_copy(update={"institutions": institutions, "trusted_proxies": ["127.0.0.1"]})
    headers = [
        ("x-original-uri", GATED_URL),
        ("x-original-method", "GET"),
        ("cookie", full_cookie()),
        *(("x-forwarded-for", line) for line in lines),
    ]
    with TestClient(create_app(s), client=(peer, 40000)) as client:
        answer = client.get("/api/gate", headers=headers)
    assert answer.status_code == (204 if reads else 403)
