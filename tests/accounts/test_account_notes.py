"""My notes on the account page over HTTP: the list, its search without JavaScript, downloads."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select
from test_account import post, sign_in

from site_api.accounts import users
from site_api.models import Note, User
from site_api.web.routes.account_notes import PER_PAGE

EMAIL, OTHER = "notes-reader@example.org", "someone-else@example.org"
PASSWORD = "correct horse battery staple"
T0 = datetime(2026, 3, 12, 14, 5, 6)
HEADER = "page_id,title,url,text,version,created_at,updated_at"


@pytest.fixture
def reader(engine: Engine) -> User:
    return users.create_user(engine, EMAIL, PASSWORD, verified=True)


@pytest.fixture
def other(engine: Engine) -> User:
    return users.create_user(engine, OTHER, PASSWORD, verified=True)


def add(engine: Engine, user: User, page_id: str, text: str, minutes: int = 0) -> None:
    """A note saved `minutes` after T0 (straight into the database, as if from long ago)."""
    assert user.id is not None
    when = T0 + timedelta(minutes=minutes)
    with Session(engine) as db:
        db.add(Note(user_id=user.id, page_id=page_id, text=text, created_at=when, updated_at=when))
        db.commit()


def listed(client: httpx.Client, **params: str) -> list[str]:
    """The page ids of the notes the account page lists, in order."""
    response = client.get("/account", params=params)
    assert response.status_code == 200, response.text
    return re.findall(r'<li class="my-note" data-page-id="([^"]+)"', response.text)


def status(client: httpx.Client, **params: str) -> str:
    found = re.search(r"data-my-notes-status>([^<]*)<", client.get("/account", params=params).text)
    assert found
    return found.group(1)


@pytest.fixture
def three(engine: Engine, reader: User) -> None:
    """Three notes of the reader, saved in the order oldest, newest, middle."""
    add(engine, reader, "kawasaki-disease", "Aspirin dose: check\nwith cardiology", 0)
    add(engine, reader, "pancytopenia", "Film & B12 <first>", 20)
    add(engine, reader, "esr-and-crp", "CRP rises within hours", 10)


# --- the list ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/account?q=aspirin", "/account?notes_page=2", "/account/notes.json", "/account/notes.csv"],
)
def test_anonymous_is_sent_to_sign_in(client: httpx.Client, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/account"
    assert response.headers["cache-control"] == "private, no-store"


def test_no_notes_yet(client: httpx.Client, reader: User) -> None:
    sign_in(client, EMAIL)
    response = client.get("/account")
    assert "My notes" in response.text
    assert "You have no notes yet." in response.text
    assert "data-my-notes-search" not in response.text


def test_notes_are_listed_newest_first_with_title_link_text_and_date(
    client: httpx.Client, three: None
) -> None:
    sign_in(client, EMAIL)
    response = client.get("/account")
    assert response.headers["cache-control"] == "private, no-store"
    assert listed(client) == ["pancytopenia", "esr-and-crp", "kawasaki-disease"]
    html = response.text
    assert '<a href="/topics/kawasaki-disease/">Kawasaki disease</a>' in html
    # Plain text, escaped, its line break kept (the stylesheet shows it with pre-wrap).
    assert '<p class="my-note-text">Aspirin dose: check\nwith cardiology</p>' in html
    assert '<p class="my-note-text">Film &amp; B12 &lt;first&gt;</p>' in html
    assert "<first>" not in html
    assert 'Updated <time datetime="2026-03-12T14:25:06Z">12 March 2026</time>' in html
    # The version each note is at, for my-notes.js to edit it in place without overwriting.
    assert '<li class="my-note" data-page-id="pancytopenia" data-version="1">' in html
    assert status(client) == "You have 3 notes."


def test_a_note_whose_page_is_gone_is_still_listed(
    client: httpx.Client, engine: Engine, reader: User
) -> None:
    add(engine, reader, "retired-topic", "Keep this: <not lost>", 5)
    add(engine, reader, "kawasaki-disease", "Aspirin", 0)
    sign_in(client, EMAIL)
    html = client.get("/account").text
    assert listed(client) == ["retired-topic", "kawasaki-disease"]
    assert "This page no longer exists (id: retired-topic)" in html
    assert 'data-page-id="retired-topic" data-version="1" data-gone>' in html  # not editable
    assert "Keep this: &lt;not lost&gt;" in html
    assert listed(client, q="not lost") == ["retired-topic"]


def test_another_users_notes_never_appear(
    client: httpx.Client, engine: Engine, three: None, other: User
) -> None:
    add(engine, other, "kawasaki-disease", "SECRET of the other reader", 30)
    add(engine, other, "stills-disease", "Aspirin too: SECRET", 31)
    sign_in(client, EMAIL)
    for response in (
        client.get("/account"),
        client.get("/account", params={"q": "secret"}),
        client.get("/account", params={"q": "still"}),
        client.get("/account/notes.json"),
        client.get("/account/notes.csv"),
        client.get("/account/export.json"),
    ):
        assert "SECRET" not in response.text
        assert 'data-page-id="stills-disease"' not in response.text
        assert "stills-disease," not in response.text
        assert '"page_id":"stills-disease"' not in response.text.replace(" ", "")
    assert listed(client, q="still") == []
    assert listed(client, q="aspirin") == ["kawasaki-disease"]
    assert status(client, q="secret") == "0 notes found"


def test_pages_of_fifty(client: httpx.Client, engine: Engine, reader: User) -> None:
    for n in range(PER_PAGE + 5):
        add(engine, reader, f"old-{n:02d}", f"note {n}", n)
    sign_in(client, EMAIL)
    first = listed(client)
    assert len(first) == PER_PAGE and first[0] == "old-54" and first[-1] == "old-05"
    html = client.get("/account").text
    assert "Page 1 of 2" in html
    assert 'href="/account?notes_page=2#my-notes" rel="next"' in html
    assert listed(client, notes_page="2") == ["old-04", "old-03", "old-02", "old-01", "old-00"]
    assert listed(client, notes_page="99") == listed(client, notes_page="2")  # past the end
    assert listed(client, notes_page="x") == first  # hand-edited: page 1, not an error
    assert listed(client, notes_page="-1") == first
    searched = client.get("/account", params={"q": "note 5"}).text  # note 5, note 50 … 54
    assert "Page 1 of 1" in searched
    assert listed(client, q="note") == first
    assert (
        'href="/account?q=note&amp;notes_page=2#my-notes"'
        in client.get("/account", params={"q": "note"}).text
    )


# --- search without JavaScript -----------------------------------------------------------------


def test_search_matches_text_and_title_ignoring_case(client: httpx.Client, three: None) -> None:
    sign_in(client, EMAIL)
    assert listed(client, q="ASPIRIN") == ["kawasaki-disease"]  # the note's text
    assert listed(client, q="kawasaki") == ["kawasaki-disease"]  # the page's title
    assert listed(client, q="  crp  ") == ["esr-and-crp"]
    assert listed(client, q="i") == ["pancytopenia", "esr-and-crp", "kawasaki-disease"]
    assert listed(client, q="nothing like this") == []
    assert status(client, q="crp") == "1 note found"
    assert status(client, q="i") == "3 notes found"
    html = client.get("/account", params={"q": "crp"}).text
    assert 'name="q" type="search" value="crp"' in html
    assert '<p class="my-notes-clear" data-my-notes-clear><a href="/account#my-notes">' in html


def test_search_takes_percent_underscore_and_backslash_literally(
    client: httpx.Client, engine: Engine, reader: User
) -> None:
    add(engine, reader, "kawasaki-disease", "IVIG 100% given", 0)
    add(engine, reader, "pancytopenia", "IVIG 100 percent", 1)
    add(engine, reader, "esr-and-crp", "see file_b", 2)
    add(engine, reader, "hyperferritinaemia", "see fileXb", 3)
    add(engine, reader, "about", r"path C:\notes", 4)
    sign_in(client, EMAIL)
    assert listed(client, q="%") == ["kawasaki-disease"]
    assert listed(client, q="100%") == ["kawasaki-disease"]
    assert listed(client, q="_") == ["esr-and-crp"]
    assert listed(client, q="file_b") == ["esr-and-crp"]
    assert listed(client, q="\\") == ["about"]
    assert listed(client, q='"<script>') == []
    html = client.get("/account", params={"q": '"><script>'}).text
    assert 'value="&#34;&gt;&lt;script&gt;"' in html


def test_search_is_the_same_as_the_api(client: httpx.Client, engine: Engine, reader: User) -> None:
    """The page without JavaScript and search-as-you-type (GET /api/notes) list the same notes."""
    add(engine, reader, "kawasaki-disease", "Aspirin 100%", 0)
    add(engine, reader, "pancytopenia", "B12_folate", 1)
    add(engine, reader, "esr-and-crp", "CRP", 1)  # the same time: the tie breaks the same way
    add(engine, reader, "gone-page", "ESR history", 2)
    sign_in(client, EMAIL)
    for q in ["", "a", "ASPIRIN", "%", "_", "esr", "disease", "crp", " crp ", "zzz"]:
        api = client.get("/api/notes", params={"q": q, "limit": PER_PAGE}).json()
        assert listed(client, q=q) == [item["page_id"] for item in api["items"]], q


def test_an_overlong_search_is_cut_not_refused(client: httpx.Client, three: None) -> None:
    sign_in(client, EMAIL)
    response = client.get("/account", params={"q": "crp" + " " * 300})
    assert response.status_code == 200
    assert listed(client, q="crp" + " " * 300) == ["esr-and-crp"]


# --- downloads ---------------------------------------------------------------------------------


def test_notes_json_download(
    client: httpx.Client, engine: Engine, reader: User, three: None
) -> None:
    add(engine, reader, "gone-page", "orphan", 40)
    sign_in(client, EMAIL)
    response = client.get("/account/notes.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        'attachment; filename="clinical-notebook-notes.json"'
    )
    notes = response.json()["notes"]
    assert [n["page_id"] for n in notes] == [
        "gone-page",
        "pancytopenia",
        "esr-and-crp",
        "kawasaki-disease",
    ]
    assert notes[0] == {
        "page_id": "gone-page",
        "title": None,
        "url": None,
        "text": "orphan",
        "version": 1,
        "created_at": "2026-03-12T14:45:06Z",
        "updated_at": "2026-03-12T14:45:06Z",
    }
    assert notes[3]["title"] == "Kawasaki disease"
    assert notes[3]["url"] == "/topics/kawasaki-disease/"
    assert notes[3]["text"] == "Aspirin dose: check\nwith cardiology"


def test_download_my_data_includes_the_notes(client: httpx.Client, three: None) -> None:
    sign_in(client, EMAIL)
    data = client.get("/account/export.json").json()
    assert data["notes"] == client.get("/account/notes.json").json()["notes"]
    assert "your notes" in client.get("/account").text


def test_notes_csv_download(client: httpx.Client, engine: Engine, reader: User) -> None:
    tricky = 'Dose, then "review",\nnext line; µmol/L ≥ 5'
    add(engine, reader, "kawasaki-disease", tricky, 0)
    add(engine, reader, "gone-page", "orphan", 1)
    sign_in(client, EMAIL)
    response = client.get("/account/notes.csv")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="clinical-notebook-notes.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert [r["page_id"] for r in rows] == ["gone-page", "kawasaki-disease"]
    assert rows[0]["title"] == "" and rows[0]["url"] == ""
    assert rows[1] == {
        "page_id": "kawasaki-disease",
        "title": "Kawasaki disease",
        "url": "/topics/kawasaki-disease/",
        "text": tricky,
        "version": "1",
        "created_at": "2026-03-12T14:05:06Z",
        "updated_at": "2026-03-12T14:05:06Z",
    }


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("Dose = 2 mg/kg", "Dose = 2 mg/kg"),
        ("'quoted already", "'quoted already"),
    ],
)
def test_csv_cells_cannot_become_formulas(
    client: httpx.Client, engine: Engine, reader: User, text: str, cell: str
) -> None:
    add(engine, reader, "kawasaki-disease", text)
    sign_in(client, EMAIL)
    body = client.get("/account/notes.csv").content.decode("utf-8-sig")
    (row,) = list(csv.DictReader(io.StringIO(body, newline="")))
    assert row["text"] == cell


def test_notes_saved_through_the_api_are_listed(client: TestClient, reader: User) -> None:
    sign_in(client, EMAIL)
    for page_id, text in [("stills-disease", "First"), ("hyperferritinaemia", "Second")]:
        response = client.put(f"/api/notes/{page_id}", json={"text": text, "version": None})
        assert response.status_code == 201, response.text
    assert listed(client) == ["hyperferritinaemia", "stills-disease"]
    assert listed(client, q="still") == ["stills-disease"]


def test_deleting_the_account_deletes_its_notes(
    client: httpx.Client, engine: Engine, reader: User, three: None
) -> None:
    sign_in(client, EMAIL)
    response = post(client, "/account/delete", password=PASSWORD)
    assert response.status_code == 200, response.text
    with Session(engine) as db:
        assert db.exec(select(func.count()).where(col(Note.user_id) == reader.id)).one() == 0
