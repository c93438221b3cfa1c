"""Share links on the embedded server: made by a signed-in reader, opened once per browser by
anyone, and every refusal (tampered, other page, expired, revoked, used) an ordinary visit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import quote, urlsplit

import httpx
import pytest
from conftest import TEST_KEY
from fastapi.testclient import TestClient
from sqlmodel import Session
from visitors import GATED, GATED_URL, TOPICS, countdown_of, full_cookie, signed_in_cookie

from site_api.accounts.users import utcnow
from site_api.config import Settings
from site_api.db import make_engine
from site_api.models import Share
from site_api.serving.shares import ShareTokens
from site_api.web.app import create_app

BANNER = 'Shared by a registered colleague · <a href="/create-account?next=/topics/cytokine-release-syndrome/">Create a free account</a>'


@pytest.fixture
def app_client(settings: Settings) -> Iterator[httpx.Client]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        yield client


def visit(client: httpx.Client, url: str, cookie: str = "", method: str = "GET") -> httpx.Response:
    """A page view by a browser holding exactly `cookie` (the test client's jar is emptied)."""
    client.cookies.clear()
    return client.request(method, url, headers={"cookie": cookie} if cookie else {})


def make_link(client: httpx.Client, reader: str, page_id: str = GATED) -> dict[str, object]:
    response = client.post("/api/shares", json={"page_id": page_id}, headers={"cookie": reader})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "private, no-store"
    return dict(response.json())


def target(link: dict[str, object]) -> str:
    parts = urlsplit(str(link["url"]))
    return f"{parts.path}?{parts.query}"


def token_of(link: dict[str, object]) -> str:
    return urlsplit(str(link["url"])).query.removeprefix("share=")


def test_link_opens_the_topic_once_per_browser(
    app_client: httpx.Client, settings: Settings, body_text: str
) -> None:
    link = make_link(app_client, signed_in_cookie(settings))
    assert str(link["url"]).startswith(f"{settings.public_url}{GATED_URL}?share=")
    opened = visit(app_client, target(link), full_cookie())
    assert opened.status_code == 200 and body_text in opened.text
    assert BANNER in opened.text
    assert opened.headers["referrer-policy"] == "no-referrer"
    assert opened.headers["cache-control"] == "private, no-cache"
    used = opened.headers["set-cookie"]
    assert used.startswith("shared=") and "HttpOnly" in used
    # The same browser again: an ordinary visit, here past its meter.
    cookie = full_cookie() + "; " + used.split(";")[0]
    again = visit(app_client, target(link), cookie)
    assert again.status_code == 403 and body_text not in again.text
    assert again.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    # Another browser (a fresh visitor): it opens, and spends none of its free pages.
    other = visit(app_client, target(link))
    assert other.status_code == 200 and BANNER in other.text
    assert "meter=" not in other.headers["set-cookie"]


def test_head_does_not_use_up_the_link(app_client: httpx.Client, settings: Settings) -> None:
    link = make_link(app_client, signed_in_cookie(settings))
    head = visit(app_client, target(link), full_cookie(), "HEAD")
    assert head.status_code == 200 and "set-cookie" not in head.headers


def tampered(token: str) -> list[str]:
    share_id, user_id, expires, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    candidates = [
        token[:-1],  # truncated
        token[:10],
        token.replace(".", "%2E"),  # re-encoded
        quote(token.replace(".", "%2E"), safe=""),
        "".join(f"%{ord(c):02X}" for c in token),
        f"{share_id}.{user_id}.{expires}.{mac}==",  # padded base64
        f"{share_id}.{user_id}.{expires}.{mac.replace('-', '+').replace('_', '/')}",
        f"{share_id}.{user_id}.{expires}.{flipped}",
        f"{int(share_id) + 1}.{user_id}.{expires}.{mac}",  # another share's id
        f"{share_id}.{int(user_id) + 1}.{expires}.{mac}",  # another creator
        f"{share_id}.{user_id}.{int(expires) + 86400}.{mac}",  # a longer life
        token + "." + mac,
        "",
        "x" * 5000,
        "%00%ff",
    ]
    return [c for c in candidates if c != token]


def test_tampered_tokens_are_ordinary_visits(
    app_client: httpx.Client, settings: Settings, body_text: str
) -> None:
    link = make_link(app_client, signed_in_cookie(settings))
    token = token_of(link)
    for bad in tampered(token):
        response = visit(app_client, f"{GATED_URL}?share={bad}", full_cookie())
        assert response.status_code == 403, bad
        assert body_text not in response.text
    # Two tokens, or the token under another name, open nothing either.
    for query in (f"share={token}&share={token}", f"shares={token}", f"SHARE={token}"):
        response = visit(app_client, f"{GATED_URL}?{query}", full_cookie())
        assert response.status_code == 403, query


def test_a_token_for_another_page_opens_nothing(
    app_client: httpx.Client, settings: Settings
) -> None:
    link = make_link(app_client, signed_in_cookie(settings), page_id=TOPICS[0])
    other = visit(app_client, f"{GATED_URL}?share={token_of(link)}", full_cookie())
    assert other.status_code == 403
    right = visit(app_client, target(link), full_cookie())
    assert right.status_code == 200


def test_revoked_link_is_an_ordinary_visit(app_client: httpx.Client, settings: Settings) -> None:
    reader = signed_in_cookie(settings)
    link = make_link(app_client, reader)
    stranger = signed_in_cookie(settings, email="someone@example.org")
    assert (
        app_client.delete(f"/api/shares/{link['id']}", headers={"cookie": stranger}).status_code
        == 404
    )
    assert (
        app_client.delete(f"/api/shares/{link['id']}", headers={"cookie": reader}).status_code
        == 204
    )
    refused = visit(app_client, target(link), full_cookie())
    assert refused.status_code == 403
    listed = visit(app_client, "/api/shares", reader).json()
    assert listed[0]["revoked"] is True and listed[0]["url"] is None


def test_revoked_from_the_account_page(app_client: httpx.Client, settings: Settings) -> None:
    reader = signed_in_cookie(settings)
    link = make_link(app_client, reader)
    page = visit(app_client, "/account/shares", reader)
    assert page.status_code == 200 and "Cytokine release syndrome" in page.text
    assert str(link["url"]).replace("&", "&amp;") in page.text
    csrf = page.cookies.get("csrf") or ""
    assert csrf
    revoked = app_client.post(
        f"/account/shares/{link['id']}/revoke",
        data={"csrf_token": csrf},
        headers={"cookie": f"{reader}; csrf={csrf}"},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert visit(app_client, target(link), full_cookie()).status_code == 403
    account = visit(app_client, "/account", reader)
    assert 'href="/account/shares"' in account.text


def test_expired_link_is_an_ordinary_visit(app_client: httpx.Client, settings: Settings) -> None:
    reader = signed_in_cookie(settings)
    link = make_link(app_client, reader)
    engine = make_engine(settings.database_url)
    with Session(engine) as db:
        row = db.get(Share, link["id"])
        assert row is not None
        creator = row.user_id
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.add(row)
        db.commit()
    # The token still claims a future expiry: the row's decides.
    assert visit(app_client, target(link), full_cookie()).status_code == 403
    # A correctly signed token whose own expiry has passed.
    assert isinstance(link["id"], int)
    past = ShareTokens(TEST_KEY.encode()).token(link["id"], creator, GATED, 1_000_000)
    response = visit(app_client, f"{GATED_URL}?share={past}", full_cookie())
    assert response.status_code == 403


def test_twenty_links_a_day(app_client: httpx.Client, settings: Settings) -> None:
    reader = signed_in_cookie(settings)
    for _ in range(settings.shares_per_day):
        make_link(app_client, reader)
    refused = app_client.post("/api/shares", json={"page_id": GATED}, headers={"cookie": reader})
    assert refused.status_code == 429 and "20 share links a day" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"page_id": "nope"}, 404),
        ({"page_id": "about"}, 422),
        ({"page_id": "../etc"}, 422),
        ({"page_id": GATED, "extra": 1}, 422),
        ({}, 422),
    ],
)
def test_bad_requests_are_4xx(
    app_client: httpx.Client, settings: Settings, body: dict[str, object], status: int
) -> None:
    reader = signed_in_cookie(settings)
    response = app_client.post("/api/shares", json=body, headers={"cookie": reader})
    assert response.status_code == status


def test_only_signed_in_readers_make_links(app_client: httpx.Client) -> None:
    assert app_client.post("/api/shares", json={"page_id": GATED}).status_code == 401
    assert app_client.get("/api/shares").status_code == 401


def test_token_never_logged_at_info(
    app_client: httpx.Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    link = make_link(app_client, signed_in_cookie(settings))
    token = token_of(link)
    visit(app_client, target(link))
    visit(app_client, f"{GATED_URL}?share={token[:-2]}")
    # The server's own records (the test's HTTP client logs the URLs it fetches itself).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("site_api"))
    assert "share link opened: page cytokine-release-syndrome" in ours
    assert "share link refused: page cytokine-release-syndrome" in ours
    assert token[:-2] not in ours


def test_the_share_button_is_on_metered_topics_only(app_client: httpx.Client) -> None:
    topic = app_client.get(f"/topics/{TOPICS[0]}/")
    assert "data-share-button" in topic.text and "share.js" in topic.text
    assert "data-share-button" not in app_client.get("/about/").text
    assert countdown_of(topic.text)
