"""The notes API over HTTP: owners only, versions, limits, bad input, the list and its search."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from visitors import signed_in_cookie

from site_api.config import Settings
from site_api.content.manifest import load_manifest
from site_api.db import make_engine
from site_api.models import Note, User
from site_api.web.app import create_app

PAGE = "esr-and-crp"
OTHER = "kawasaki-disease"
NO_STORE = "private, no-store"


def expect(response: httpx.Response, status: int) -> Any:
    """Assert the status and the no-store header every notes response carries; the JSON body."""
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == NO_STORE
    if status == 204:
        assert response.content == b""
        return None
    body = response.json()
    if status >= 400:
        assert isinstance(body["detail"], str) and body["detail"].strip()
    return body


class Reader:
    """One signed-in reader of the notes API (their session cookie on every request)."""

    def __init__(self, client: httpx.Client, cookie: str) -> None:
        self.client = client
        self.headers = {"cookie": cookie}

    def get(self, page_id: str) -> httpx.Response:
        return self.client.get(f"/api/notes/{page_id}", headers=self.headers)

    def put(self, page_id: str, text: str, version: int | None = None) -> httpx.Response:
        body = {"text": text, "version": version}
        return self.client.put(f"/api/notes/{page_id}", json=body, headers=self.headers)

    def delete(self, page_id: str, version: int) -> httpx.Response:
        return self.client.delete(f"/api/notes/{page_id}?version={version}", headers=self.headers)

    def list(self, **params: Any) -> dict[str, Any]:
        return expect(self.client.get("/api/notes", params=params, headers=self.headers), 200)  # type: ignore[no-any-return]

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)


@pytest.fixture
def lenient(settings: Settings) -> Iterator[TestClient]:
    """A client that reports a server error as a 500, as a browser would see it."""
    with TestClient(
        create_app(settings), base_url="http://127.0.0.1:8000", raise_server_exceptions=False
    ) as test_client:
        yield test_client


@pytest.fixture
def alice(client: httpx.Client, settings: Settings) -> Reader:
    return Reader(client, signed_in_cookie(settings, email="alice@example.org"))


@pytest.fixture
def bob(client: httpx.Client, settings: Settings) -> Reader:
    return Reader(client, signed_in_cookie(settings, email="bob@example.org"))


@pytest.fixture
def careless(lenient: TestClient, settings: Settings) -> Reader:
    return Reader(lenient, signed_in_cookie(settings, email="careless@example.org"))


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/notes", None),
        ("GET", "/api/notes?q=esr&limit=5&offset=0", None),
        ("GET", f"/api/notes/{PAGE}", None),
        ("PUT", f"/api/notes/{PAGE}", {"text": "mine", "version": None}),
        ("PUT", f"/api/notes/{PAGE}", {"text": "mine", "version": 1}),
        ("DELETE", f"/api/notes/{PAGE}?version=1", None),
    ],
)
@pytest.mark.parametrize("cookie", [None, "session=not-a-session", "session="])
def test_anonymous_readers_get_401_everywhere(
    client: httpx.Client, method: str, url: str, body: Any, cookie: str | None
) -> None:
    headers = {"cookie": cookie} if cookie else {}
    response = client.request(method, url, json=body, headers=headers)
    assert expect(response, 401)["detail"] == "Sign in first."


def test_create_replace_conflict_and_delete(alice: Reader) -> None:
    created = expect(alice.put(PAGE, "Check CRP again in 48 h", None), 201)
    assert created["page_id"] == PAGE
    assert created["text"] == "Check CRP again in 48 h" and created["version"] == 1
    assert created["created_at"] == created["updated_at"]
    assert expect(alice.get(PAGE), 200) == created

    replaced = expect(alice.put(PAGE, "Check CRP again in 24 h", 1), 200)
    assert replaced["version"] == 2 and replaced["text"] == "Check CRP again in 24 h"
    assert replaced["created_at"] == created["created_at"]
    assert replaced["updated_at"] > created["updated_at"]

    stale = expect(alice.put(PAGE, "an edit from an old tab", 1), 409)
    assert "changed elsewhere" in stale["detail"]
    assert stale["current"] == replaced

    again = expect(alice.put(PAGE, "a second first note", None), 409)
    assert again["current"] == replaced

    kept = expect(alice.delete(PAGE, 1), 409)
    assert kept["current"] == replaced
    assert expect(alice.get(PAGE), 200) == replaced

    expect(alice.delete(PAGE, 2), 204)
    assert expect(alice.get(PAGE), 404)["detail"] == "You have no note on this page."
    expect(alice.delete(PAGE, 2), 404)
    gone = expect(alice.put(PAGE, "a save from a tab that still shows it", 2), 409)
    assert gone["current"] is None

    fresh = expect(alice.put(PAGE, "Start again", None), 201)
    assert fresh["version"] == 1


def test_version_numbers_never_skip(alice: Reader) -> None:
    expect(alice.put(PAGE, "v1", None), 201)
    for version in range(1, 6):
        saved = expect(alice.put(PAGE, f"v{version + 1}", version), 200)
        assert saved["version"] == version + 1 and saved["text"] == f"v{version + 1}"
    expect(alice.put(PAGE, "from the future", 9), 409)
    assert expect(alice.get(PAGE), 200)["version"] == 6


def test_notes_belong_to_their_owner(alice: Reader, bob: Reader) -> None:
    secret = "Alice's private reminder"
    expect(alice.put(PAGE, secret, None), 201)

    assert expect(bob.get(PAGE), 404)["detail"] == "You have no note on this page."
    replace = bob.put(PAGE, "Bob overwrites it", 1)
    assert expect(replace, 409)["current"] is None
    expect(bob.delete(PAGE, 1), 404)
    assert bob.list() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert bob.list(q="private")["total"] == 0
    for response in (replace, bob.get(PAGE)):
        assert secret not in response.text

    # Bob's own note on the same page is his, beside Alice's, never instead of it.
    assert expect(bob.put(PAGE, "Bob's own note", None), 201)["version"] == 1
    mine = expect(alice.get(PAGE), 200)
    assert mine["text"] == secret and mine["version"] == 1
    assert [n["text"] for n in alice.list()["items"]] == [secret]
    assert [n["text"] for n in bob.list()["items"]] == ["Bob's own note"]
    expect(alice.put(PAGE, "Alice edits hers", 1), 200)
    assert expect(bob.get(PAGE), 200)["text"] == "Bob's own note"
    expect(bob.delete(PAGE, 1), 204)
    assert expect(alice.get(PAGE), 200)["text"] == "Alice edits hers"


@pytest.mark.parametrize(
    "text",
    [
        "a" * 2000,
        "😀" * 2000,  # one code point each, four bytes in UTF-8
        "é" * 1999 + "\n",
        "Tabs\tand\nnew lines are fine",
        "Ferritin > 10 000 µg/L — think of MAS/HLH ✓",
    ],
)
def test_texts_within_the_limits_are_kept_exactly(alice: Reader, text: str) -> None:
    assert expect(alice.put(PAGE, text, None), 201)["text"] == text
    assert expect(alice.get(PAGE), 200)["text"] == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a" * 2001, "2000"),
        ("😀" * 2001, "2000"),
        ("", "at least 1 character"),
        (" ", "some text"),
        ("  \n\t \r\n ", "some text"),
        ("before\x00after", "control characters"),
        ("bell\x07", "control characters"),
        ("\x1b[31mred", "control characters"),
        ("delete\x7f", "control characters"),
        ("form\x0cfeed", "control characters"),
    ],
)
def test_texts_outside_the_limits_are_refused_with_a_message(
    alice: Reader, text: str, message: str
) -> None:
    detail = expect(alice.put(PAGE, text, None), 422)["detail"]
    assert message in detail
    assert detail.startswith("text:")
    expect(alice.get(PAGE), 404)


def test_a_refused_replace_keeps_the_saved_note(alice: Reader) -> None:
    saved = expect(alice.put(PAGE, "kept", None), 201)
    expect(alice.put(PAGE, "x" * 2001, 1), 422)
    expect(alice.put(PAGE, "\x00", 1), 422)
    assert expect(alice.get(PAGE), 200) == saved


def test_windows_line_endings_are_stored_as_unix_ones(alice: Reader) -> None:
    saved = expect(alice.put(PAGE, "line 1\r\nline 2\r\n\r\nline 4", None), 201)
    assert saved["text"] == "line 1\nline 2\n\nline 4"
    assert expect(alice.get(PAGE), 200)["text"] == "line 1\nline 2\n\nline 4"
    replaced = expect(alice.put(PAGE, "a\r\nb", 1), 200)
    assert replaced["text"] == "a\nb"


BAD_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("not json", {"content": b"not json", "headers": {"content-type": "application/json"}}),
    (
        "truncated json",
        {"content": b'{"text": "x"', "headers": {"content-type": "application/json"}},
    ),
    ("form body", {"data": {"text": "x"}}),
    ("plain text", {"content": b"x", "headers": {"content-type": "text/plain"}}),
    ("no body", {}),
    ("json list", {"json": ["x"]}),
    ("json string", {"json": "x"}),
    ("json null", {"json": None}),
    ("missing text", {"json": {"version": None}}),
    ("text number", {"json": {"text": 5, "version": None}}),
    ("text null", {"json": {"text": None, "version": None}}),
    ("text list", {"json": {"text": ["x"], "version": None}}),
    ("text object", {"json": {"text": {"a": 1}, "version": None}}),
    ("version word", {"json": {"text": "x", "version": "one"}}),
    ("version fraction", {"json": {"text": "x", "version": 1.5}}),
    ("version zero", {"json": {"text": "x", "version": 0}}),
    ("version negative", {"json": {"text": "x", "version": -1}}),
    ("version list", {"json": {"text": "x", "version": [1]}}),
    ("extra field", {"json": {"text": "x", "version": None, "user_id": 1}}),
    ("extra page id", {"json": {"text": "x", "page_id": OTHER}}),
]


@pytest.mark.parametrize("kwargs", [k for _, k in BAD_BODIES], ids=[n for n, _ in BAD_BODIES])
def test_bad_bodies_get_a_message_not_a_server_error(
    careless: Reader, kwargs: dict[str, Any]
) -> None:
    response = careless.request("PUT", f"/api/notes/{PAGE}", **kwargs)
    assert response.status_code == 422, response.text
    expect(response, 422)
    assert careless.list()["total"] == 0


@pytest.mark.parametrize(
    "page_id",
    [
        "..%2Fx",
        "%2E%2E",
        "%2E",
        "%2E%2E%2F%2E%2E%2Fsite.db",
        "a" * 65,
        "a" * 200,
        "Esr-and-crp",
        "esr_and_crp",
        "-esr",
        "esr%00",
        "esr%20and",
        "%C3%A9sr",
        "esr.md",
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_malformed_page_ids_get_a_message_not_a_server_error(
    careless: Reader, method: str, page_id: str
) -> None:
    body = {"text": "x", "version": None} if method == "PUT" else None
    url = f"/api/notes/{page_id}" + ("?version=1" if method == "DELETE" else "")
    response = careless.request(method, url, json=body)
    assert 400 <= response.status_code < 500, response.text
    expect(response, response.status_code)
    assert careless.list()["total"] == 0


def test_the_longest_page_id_is_only_unknown(alice: Reader) -> None:
    assert expect(alice.put("a" * 64, "x", None), 404)["detail"] == "There is no page with that id."


def test_unknown_pages_take_no_notes(alice: Reader) -> None:
    assert expect(alice.put("no-such-topic", "x", None), 404)["detail"] == (
        "There is no page with that id."
    )
    expect(alice.put("no-such-topic", "x", 1), 404)
    expect(alice.get("no-such-topic"), 404)
    expect(alice.delete("no-such-topic", 1), 404)
    assert alice.list()["total"] == 0


@pytest.mark.parametrize("version", [2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**30])
def test_huge_versions_are_refused_not_a_server_error(careless: Reader, version: int) -> None:
    expect(careless.put(PAGE, "v1", None), 201)
    replace = careless.put(PAGE, "v2", version)
    assert replace.status_code in (409, 422), replace.text
    expect(replace, replace.status_code)
    delete = careless.delete(PAGE, version)
    assert delete.status_code in (409, 422), delete.text
    expect(delete, delete.status_code)
    assert expect(careless.get(PAGE), 200)["version"] == 1


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=201", "limit=x", "offset=-1", "offset=x", "q=" + "x" * 201],
)
def test_bad_list_parameters_get_a_message(alice: Reader, query: str) -> None:
    expect(alice.request("GET", f"/api/notes?{query}"), 422)


@pytest.mark.parametrize("query", ["", "?version=0", "?version=x", "?version=-2"])
def test_delete_needs_a_version(alice: Reader, query: str) -> None:
    expect(alice.put(PAGE, "kept", None), 201)
    assert "version" in expect(alice.request("DELETE", f"/api/notes/{PAGE}{query}"), 422)["detail"]
    expect(alice.get(PAGE), 200)


def _titles(settings: Settings) -> dict[str, str]:
    return {p.id: p.title for p in load_manifest(settings.site_dir).pages}


def test_the_list_is_newest_first_and_pages_through(alice: Reader, settings: Settings) -> None:
    titles = _titles(settings)
    topics = [p.id for p in load_manifest(settings.site_dir).pages if p.url.startswith("/topics/")]
    pages = sorted(topics)[:7]
    for n, page in enumerate(pages):
        expect(alice.put(page, f"note {n}", None), 201)
    newest_first = list(reversed(pages))
    listed = alice.list()
    assert listed["total"] == 7 and listed["limit"] == 50 and listed["offset"] == 0
    assert [n["page_id"] for n in listed["items"]] == newest_first
    first = listed["items"][0]
    assert first["title"] == titles[first["page_id"]]
    assert first["url"] == f"/topics/{first['page_id']}/"
    assert first["page_exists"] is True
    assert set(first) == {
        "page_id",
        "text",
        "version",
        "created_at",
        "updated_at",
        "title",
        "url",
        "page_exists",
    }

    # Replacing a note makes it the newest.
    expect(alice.put(pages[0], "note 0, edited", 1), 200)
    newest_first = [pages[0], *newest_first[:-1]]
    assert [n["page_id"] for n in alice.list()["items"]] == newest_first

    seen = []
    for offset in range(0, 9, 3):
        chunk = alice.list(limit=3, offset=offset)
        assert chunk["total"] == 7 and chunk["limit"] == 3 and chunk["offset"] == offset
        seen += [n["page_id"] for n in chunk["items"]]
    assert seen == newest_first
    assert alice.list(limit=3, offset=6)["items"][0]["page_id"] == newest_first[6]
    assert alice.list(offset=100) == {"items": [], "total": 7, "limit": 50, "offset": 100}
    assert len(alice.list(limit=200)["items"]) == 7


def test_search_covers_text_and_page_titles_ignoring_case(alice: Reader) -> None:
    expect(alice.put(PAGE, "Low PLATELETS and falling ESR: think of DIC", None), 201)
    expect(alice.put(OTHER, "Echo at 2 weeks", None), 201)
    expect(alice.put("pancytopenia", "Repeat the film", None), 201)

    def found(q: str) -> list[str]:
        listed = alice.list(q=q)
        assert listed["total"] == len(listed["items"])
        return sorted(n["page_id"] for n in listed["items"])

    assert found("platelets") == [PAGE]
    assert found("  Falling esr  ") == [PAGE]
    assert found("ECHO") == [OTHER]
    assert found("kawasaki") == [OTHER]  # its title, not its text
    assert found("KAWASAKI DIS") == [OTHER]
    assert found("e") == sorted([PAGE, OTHER, "pancytopenia"])
    assert found("nothing like it") == []
    assert found("   ") == sorted([PAGE, OTHER, "pancytopenia"])
    assert alice.list(q="e", limit=1)["total"] == 3


def test_search_ignores_case_beyond_ascii(alice: Reader) -> None:
    """Clinical text is not all ASCII: Sjögren, Ménière, Behçet."""
    expect(alice.put(PAGE, "Ask about ÉRYTHÈME NOUEUX and Sjögren", None), 201)
    assert alice.list(q="érythème")["total"] == 1
    assert alice.list(q="SJÖGREN")["total"] == 1


def test_search_treats_like_wildcards_literally(alice: Reader) -> None:
    expect(alice.put(PAGE, "ESR up 50% in a week", None), 201)
    expect(alice.put(OTHER, "dose_adjusted for weight", None), 201)
    expect(alice.put("pancytopenia", "plain words a5b doseXadjusted", None), 201)
    expect(alice.put("hyperferritinaemia", r"path C:\temp\ferritin", None), 201)

    def found(q: str) -> list[str]:
        return sorted(n["page_id"] for n in alice.list(q=q)["items"])

    assert found("%") == [PAGE]
    assert found("50%") == [PAGE]
    assert found("a%b") == []
    assert found("_") == [OTHER]
    assert found("dose_adjusted") == [OTHER]
    assert found("a_b") == []
    assert found("\\") == ["hyperferritinaemia"]
    assert found(r"\temp") == ["hyperferritinaemia"]
    assert found(r"\%") == []


def test_notes_of_pages_that_no_longer_exist_are_kept(alice: Reader, settings: Settings) -> None:
    expect(alice.put(PAGE, "on a live page", None), 201)
    engine = make_engine(settings.database_url)
    with Session(engine) as db:
        user = db.exec(select(User).where(User.email == "alice@example.org")).one()
        assert user.id is not None
        later = datetime.now(UTC).replace(tzinfo=None)
        db.add(
            Note(
                user_id=user.id,
                page_id="retired-topic",
                text="written before the topic was retired",
                version=3,
                created_at=later,
                updated_at=later,
            )
        )
        db.commit()

    listed = alice.list()
    assert listed["total"] == 2
    orphan, live = listed["items"]
    assert orphan["page_id"] == "retired-topic"
    assert orphan["page_exists"] is False
    assert orphan["title"] is None and orphan["url"] is None
    assert orphan["text"] == "written before the topic was retired" and orphan["version"] == 3
    assert live["page_exists"] is True and live["title"] == "ESR and CRP"
    assert [n["page_id"] for n in alice.list(q="retired")["items"]] == ["retired-topic"]

    assert expect(alice.get("retired-topic"), 200)["version"] == 3
    expect(alice.delete("retired-topic", 2), 409)
    expect(alice.delete("retired-topic", 3), 204)
    assert alice.list()["total"] == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site", "origin": "https://other.127.0.0.1:8000"},
    ],
)
def test_cross_site_writes_are_refused(alice: Reader, headers: dict[str, str]) -> None:
    expect(alice.put(PAGE, "mine", None), 201)
    put = alice.request(
        "PUT", f"/api/notes/{PAGE}", json={"text": "theirs", "version": 1}, headers=headers
    )
    assert put.status_code == 403
    delete = alice.request("DELETE", f"/api/notes/{PAGE}?version=1", headers=headers)
    assert delete.status_code == 403
    assert expect(alice.get(PAGE), 200)["text"] == "mine"


def test_same_site_writes_from_the_page_are_accepted(alice: Reader) -> None:
    headers = {"origin": "http://127.0.0.1:8000", "sec-fetch-site": "same-origin"}
    response = alice.request(
        "PUT", f"/api/notes/{PAGE}", json={"text": "mine", "version": None}, headers=headers
    )
    expect(response, 201)
    expect(alice.request("DELETE", f"/api/notes/{PAGE}?version=1", headers=headers), 204)


def test_the_openapi_schema_describes_the_notes_api(client: httpx.Client) -> None:
    schema = client.get("/api/openapi.json").json()
    assert set(schema["paths"]["/api/notes"]) == {"get"}
    item = schema["paths"]["/api/notes/{page_id}"]
    assert set(item) == {"get", "put", "delete"}
    assert set(item["put"]["responses"]) >= {"200", "201", "409", "422"}
    assert "Conflict" in schema["components"]["schemas"]
    assert schema["components"]["schemas"]["NoteIn"]["properties"]["text"]["maxLength"] == 2000
