"""My notes on the account page in Chromium: search as you type, and the same search without
JavaScript."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import inject_axe
from sqlmodel import Session

from site_api.accounts import users
from site_api.db import make_engine
from site_api.models import Note

pytestmark = pytest.mark.browser

PASSWORD = "my notes passphrase 1"
NOTES = {
    "kawasaki-disease": "Aspirin: check the dose\nwith cardiology",
    "pancytopenia": "B12 and folate first",
    "esr-and-crp": "<img src=x onerror=alert(1)> CRP rises within hours",
}


def new_reader(live_var: Path) -> str:
    """A fresh verified account in the live server's database; returns its email address."""
    email = f"my-notes-{uuid.uuid4().hex[:10]}@example.org"
    users.create_user(
        make_engine(f"sqlite:///{live_var / 'site.db'}"), email, PASSWORD, verified=True
    )
    return email


def sign_in_with_notes(page: Any, live_server: str, email: str) -> None:
    """Sign in through the form, then save NOTES through the notes API as this browser."""
    from playwright.sync_api import expect

    page.goto(f"{live_server}/sign-in?next=/account")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    for page_id, text in NOTES.items():
        response = page.request.put(
            f"{live_server}/api/notes/{page_id}", data={"text": text, "version": None}
        )
        assert response.status == 201, response.text()


def items(page: Any) -> Any:
    return page.locator("[data-my-notes-list] > li.my-note")


def test_search_as_you_type(page: Any, live_server: str, live_var: Path) -> None:
    from playwright.sync_api import expect

    email = new_reader(live_var)
    sign_in_with_notes(page, live_server, email)
    page.goto(live_server + "/account")
    expect(items(page)).to_have_count(3)
    expect(items(page).first).to_have_attribute("data-page-id", "esr-and-crp")  # newest first
    page.evaluate("window.__samePage = true")
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/notes?" in r.url else None)

    search = page.get_by_role("searchbox", name="Search my notes")
    search.press_sequentially("ASPIRIN", delay=20)
    expect(items(page)).to_have_count(1)
    expect(page.locator("[data-my-notes-status]")).to_have_text("1 note found")
    note = items(page).first
    expect(note.get_by_role("link", name="Kawasaki disease")).to_have_attribute(
        "href", "/topics/kawasaki-disease/"
    )
    expect(note.locator(".my-note-text")).to_have_text(NOTES["kawasaki-disease"])
    assert note.locator(".my-note-text").evaluate("e => e.textContent") == NOTES["kawasaki-disease"]
    assert len(api_calls) < len("ASPIRIN"), api_calls  # debounced, not one request per key
    assert page.evaluate("window.__samePage") is True  # no reload
    assert page.url.endswith("/account?q=ASPIRIN")

    search.fill("crp")  # text that looks like markup stays text
    expect(items(page)).to_have_count(1)
    expect(items(page).first.locator(".my-note-text")).to_have_text(NOTES["esr-and-crp"])
    expect(items(page).locator("img")).to_have_count(0)

    search.fill("pancy")  # the page's title
    expect(items(page)).to_have_attribute("data-page-id", "pancytopenia")

    search.fill("no such note")
    expect(items(page)).to_have_count(0)
    expect(page.locator("[data-my-notes-status]")).to_have_text("0 notes found")

    search.fill("")
    expect(items(page)).to_have_count(3)
    expect(page.locator("[data-my-notes-status]")).to_have_text("You have 3 notes.")
    assert page.evaluate("window.__samePage") is True


def test_search_as_you_type_shows_a_note_whose_page_is_gone(
    page: Any, live_server: str, live_var: Path
) -> None:
    from playwright.sync_api import expect

    email = new_reader(live_var)
    sign_in_with_notes(page, live_server, email)
    engine = make_engine(f"sqlite:///{live_var / 'site.db'}")
    user = users.find_user(engine, email)
    assert user is not None and user.id is not None
    now = users.utcnow()
    with Session(engine) as db:
        db.add(
            Note(
                user_id=user.id,
                page_id="retired-topic",
                text="From a retired topic",
                created_at=now,
                updated_at=now,
            )
        )
        db.commit()
    page.goto(live_server + "/account")
    page.get_by_role("searchbox", name="Search my notes").fill("retired")
    expect(items(page)).to_have_count(1)
    expect(items(page).first.locator("h3")).to_have_text(
        "This page no longer exists (id: retired-topic)"
    )
    expect(items(page).first.locator("a")).to_have_count(0)


def test_search_without_javascript(browser: Any, live_server: str, live_var: Path) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in_with_notes(page, live_server, new_reader(live_var))
        page.goto(live_server + "/account")
        expect(items(page)).to_have_count(3)
        page.get_by_role("searchbox", name="Search my notes").fill("folate")
        # The notes form's own button (the header's site search has one too).
        form = page.locator("[data-my-notes-search]")
        form.get_by_role("button", name="Search", exact=True).click()
        expect(page).to_have_url(live_server + "/account?q=folate#my-notes")
        expect(items(page)).to_have_count(1)
        expect(items(page).first).to_have_attribute("data-page-id", "pancytopenia")
        expect(page.locator("[data-my-notes-status]")).to_have_text("1 note found")
        page.get_by_role("link", name="Show all my notes").click()
        expect(items(page)).to_have_count(3)
    finally:
        context.close()


def test_my_notes_has_no_serious_accessibility_violations(
    page: Any, live_server: str, live_var: Path, axe_source: str
) -> None:
    from playwright.sync_api import expect

    sign_in_with_notes(page, live_server, new_reader(live_var))
    page.goto(live_server + "/account")
    page.get_by_role("searchbox", name="Search my notes").fill("a")
    expect(page.locator("[data-my-notes-status]")).to_have_text("3 notes found")
    inject_axe(page, axe_source)
    violations = page.evaluate("async () => (await axe.run()).violations")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in serious
    )
    assert not serious, report


def test_notes_on_the_account_page_link_and_edit_in_place(
    page: Any, live_server: str, live_var: Path
) -> None:
    """A note's addresses and phone numbers are links there too, and Edit saves in place with
    the version shown: a change made elsewhere meanwhile is shown, never overwritten unseen."""
    from playwright.sync_api import expect

    email = new_reader(live_var)
    sign_in_with_notes(page, live_server, email)
    text = "Bleep 020 7946 0958 or see https://example.org/rota.\n<b>not bold</b>"
    response = page.request.put(
        f"{live_server}/api/notes/pancytopenia", data={"text": text, "version": 1}
    )
    assert response.status == 200, response.text()
    page.goto(live_server + "/account")
    note = page.locator('li.my-note[data-page-id="pancytopenia"]')
    body = note.locator(".my-note-text")
    expect(body.locator('a[href="tel:02079460958"]')).to_have_text("020 7946 0958")
    expect(body.locator('a[href="https://example.org/rota"]')).to_have_text(
        "https://example.org/rota"
    )
    assert body.evaluate("e => e.textContent") == text  # the text itself is unchanged
    assert not body.locator("b").count()  # inert: markup stays text

    note.get_by_role("button", name="Edit note on Pancytopenia").click()
    box = note.get_by_role("textbox", name="Edit note")
    expect(box).to_be_focused()
    expect(box).to_have_value(text)
    box.fill("Check the film first")
    note.get_by_role("button", name="Save").click()
    expect(note.locator(".my-note-status")).to_have_text("Saved.")
    expect(body).to_have_text("Check the film first")
    saved = page.request.get(f"{live_server}/api/notes/pancytopenia").json()
    assert (saved["text"], saved["version"]) == ("Check the film first", 3)
    expect(note).to_have_attribute("data-version", "3")

    # Another tab changes the note while this editor is open: the save is refused, the saved
    # text is shown, and the reader's text stays in the box to save again on purpose.
    note.get_by_role("button", name="Edit note on Pancytopenia").click()
    elsewhere = page.request.put(
        f"{live_server}/api/notes/pancytopenia", data={"text": "From my phone", "version": 3}
    )
    assert elsewhere.status == 200
    box.fill("From the desk")
    note.get_by_role("button", name="Save").click()
    expect(note.locator(".my-note-status")).to_contain_text("changed elsewhere")
    expect(body).to_have_text("From my phone")
    expect(box).to_have_value("From the desk")
    stored = page.request.get(f"{live_server}/api/notes/pancytopenia").json()
    assert (stored["text"], stored["version"]) == ("From my phone", 4)
    note.get_by_role("button", name="Save").click()
    expect(note.locator(".my-note-status")).to_have_text("Saved.")
    expect(body).to_have_text("From the desk")
