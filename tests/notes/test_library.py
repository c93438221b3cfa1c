"""The notes panel's read (`/api/reader/<page>`), saved topics and recently viewed topics:
always 200 for the panel, 404 for saving a topic that does not exist, per-reader lists that are
exported and deleted with the account, and a switch for recently viewed."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import Session, select
from visitors import TOPICS, signed_in_cookie

from site_api.accounts.drafts import draft_key
from site_api.config import Settings
from site_api.db import make_engine
from site_api.models import RecentTopic, SavedTopic
from site_api.notes.library import RECENT_KEPT


@pytest.mark.parametrize("cookie", [None, "session=not-a-session"])
def test_anonymous_panel_read_is_200(client: httpx.Client, cookie: str | None) -> None:
    headers = {"cookie": cookie} if cookie else {}
    response = client.get(f"/api/reader/{TOPICS[0]}", headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "signed_in": False,
        "note": None,
        "saved": False,
        "cpd": False,
        "draft_key": None,
    }
    assert response.headers["cache-control"] == "private, no-store"


def test_signed_in_panel_read_save_and_recent(client: httpx.Client, settings: Settings) -> None:
    headers = {"cookie": signed_in_cookie(settings)}
    first = client.get(f"/api/reader/{TOPICS[0]}", headers=headers).json()
    assert first.pop("draft_key").startswith("note-draft:")
    assert first == {"signed_in": True, "note": None, "saved": False, "cpd": False}
    assert client.put(f"/api/saved/{TOPICS[0]}", headers=headers).json() == {"saved": True}
    assert client.put(f"/api/saved/{TOPICS[0]}", headers=headers).status_code == 200  # idempotent
    assert client.put("/api/saved/no-such-topic", headers=headers).status_code == 404
    assert client.put("/api/saved/Not A Page", headers=headers).status_code == 422
    assert client.put(f"/api/saved/{TOPICS[1]}").status_code == 401
    client.put(f"/api/notes/{TOPICS[0]}", json={"text": "mine", "version": None}, headers=headers)
    again = client.get(f"/api/reader/{TOPICS[0]}", headers=headers).json()
    assert again["saved"] is True and again["note"]["text"] == "mine"
    assert client.get("/api/reader/no-such-topic", headers=headers).status_code == 404

    for topic in TOPICS[1:]:
        client.get(f"/api/reader/{topic}", headers=headers)
    page = client.get("/account", headers=headers).text
    saved_part = page.split('id="saved"')[1].split('id="recent"')[0]
    recent_part = page.split('id="recent"')[1].split("</ol>")[0]
    assert f'href="/topics/{TOPICS[0]}/"' in saved_part
    links = re.findall(r'href="/topics/([a-z-]+)/"', recent_part)
    assert links == list(reversed(TOPICS))  # newest first

    export = client.get("/account/export.json", headers=headers).json()
    assert [t["page_id"] for t in export["saved_topics"]] == [TOPICS[0]]
    assert export["recently_viewed"]["switched_on"] is True
    assert len(export["recently_viewed"]["topics"]) == len(TOPICS)
    assert client.delete(f"/api/saved/{TOPICS[0]}", headers=headers).json() == {"saved": False}


def test_note_drafts_are_kept_per_reader_and_page(client: httpx.Client, settings: Settings) -> None:
    """Two readers on one browser never share a draft; nor do two pages; a reader's key is stable
    (the draft typed yesterday is found today) and never the old per-page key."""
    ann = {"cookie": signed_in_cookie(settings, email="ann@example.org")}
    bob = {"cookie": signed_in_cookie(settings, email="bob@example.org")}

    def key(headers: dict[str, str], page_id: str) -> str:
        return str(client.get(f"/api/reader/{page_id}", headers=headers).json()["draft_key"])

    keys = {key(ann, TOPICS[0]), key(bob, TOPICS[0]), key(ann, TOPICS[1]), key(bob, TOPICS[1])}
    assert len(keys) == 4
    assert key(ann, TOPICS[0]) == key(ann, TOPICS[0])
    assert f"note-draft:{TOPICS[0]}" not in keys
    # drafts.js tells the old per-page keys (one colon) from these (reader and page).
    assert all(k.startswith("note-draft:") and k.count(":") == 2 for k in keys)
    # Only kinds drafts.js clears at sign-out may be named.
    with pytest.raises(ValueError, match="unknown kind"):
        draft_key("memo", 1, TOPICS[0])


def test_recent_keeps_the_newest_and_can_be_switched_off(
    client: httpx.Client, settings: Settings
) -> None:
    cookie = signed_in_cookie(settings)
    headers = {"cookie": cookie}
    site = client.app.api.state.live.site  # type: ignore[attr-defined]
    pages = [p for p in site.by_id][: RECENT_KEPT + 3]
    for page_id in pages:
        client.get(f"/api/reader/{page_id}", headers=headers)
    engine = make_engine(settings.database_url)
    with Session(engine) as db:
        assert len(db.exec(select(RecentTopic)).all()) == min(len(pages), RECENT_KEPT)
    form = client.get("/account", headers=headers).text
    token = re.search(
        r'action="/account/recent">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', form
    )
    assert token
    off = client.post(
        "/account/recent",
        data={"csrf_token": token.group(1), "keep": "off"},
        headers={"cookie": f"{cookie}; csrf={token.group(1)}"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    client.get(f"/api/reader/{TOPICS[0]}", headers=headers)
    with Session(engine) as db:
        assert db.exec(select(RecentTopic)).all() == []
    export = client.get("/account/export.json", headers=headers).json()
    assert export["recently_viewed"] == {"switched_on": False, "topics": []}


def test_saved_and_recent_go_with_the_account(client: httpx.Client, settings: Settings) -> None:
    headers = {"cookie": signed_in_cookie(settings)}
    client.put(f"/api/saved/{TOPICS[0]}", headers=headers)
    client.get(f"/api/reader/{TOPICS[0]}", headers=headers)
    engine = make_engine(settings.database_url)
    from site_api.models import User

    with Session(engine) as db:
        user = db.exec(select(User)).one()
        db.delete(user)
        db.commit()
        assert db.exec(select(SavedTopic)).all() == []
        assert db.exec(select(RecentTopic)).all() == []
