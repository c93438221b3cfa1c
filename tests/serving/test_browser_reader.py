"""The reader's experience in a real Chromium, on a phone (390×844) and a desktop: the first
screen, who you are in the header, print, report a problem, note drafts, saved and recently viewed
topics."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from reading import COUNTDOWN, GATED, READ, front_matter, url

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
VIEWPORTS = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
MAS = url("macrophage-activation-syndrome")
PASSWORD = "a sturdy reader passphrase 9"
SCREENS = Path("/work/notes/screens-14")


@pytest.fixture
def engine(live_server: str, live_var: Path) -> Any:
    from site_api.db import make_engine

    return make_engine(f"sqlite:///{live_var / 'site.db'}")


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new visitor's browser with the viewport under test."""
    ctx = browser.new_context(**request.param)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def sign_in(live_server: str, engine: Any) -> Callable[[Any, str], str]:
    """sign_in(page, next) -> the address of a new verified reader, signed in on `page`."""
    from site_api.accounts.users import create_user

    def run(page: Any, next_url: str) -> str:
        email = f"reader-{uuid.uuid4().hex[:10]}@example.org"
        create_user(engine, email, PASSWORD, verified=True)
        sign_in_as(page, live_server, email, next_url)
        return email

    return run


def sign_in_as(page: Any, base: str, email: str, next_url: str) -> None:
    """Sign an existing reader in on `page` with the sign-in form, back to `next_url`."""
    from playwright.sync_api import expect

    page.goto(f"{base}/sign-in?next={next_url}")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(base + next_url)


# Every note or CPD draft this browser holds, by key.
DRAFTS = """() => Object.keys(localStorage)
  .filter((key) => key.startsWith("note-draft:") || key.startsWith("cpd-draft:")).sort()"""


def draft_key(page: Any, base: str, page_id: str = "macrophage-activation-syndrome") -> str:
    """The key the signed-in reader's note draft on a topic is kept under (the API's answer)."""
    answer = page.request.get(f"{base}/api/reader/{page_id}").json()
    assert answer["signed_in"] is True, answer
    return str(answer["draft_key"])


def lines(locator: Any) -> float:
    """How many lines of text an element takes (its height over its line height)."""
    return float(
        locator.evaluate(
            "el => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)"
        )
    )


def loaded(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("[data-notes-slot]")).not_to_have_attribute("aria-busy", "true")


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_first_screen_shows_title_summary_and_first_section(context: Any, live_server: str) -> None:
    """An anonymous reader sees the title, the summary and the first section's heading without
    scrolling; the authoring line, countdown and notes invitation stay small."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(live_server + MAS)
    loaded(page)
    height = page.viewport_size["height"]
    meta = front_matter("macrophage-activation-syndrome")
    expect(page.locator("article h1")).to_have_text(meta["title"])
    lead = page.locator(".topic-lead")
    expect(lead).to_have_text(meta["summary"].strip())
    first_section = page.locator(".topic-body h2").first
    box = first_section.bounding_box()
    assert box is not None and box["y"] + box["height"] <= height, (box, height)
    expect(first_section).to_be_in_viewport()
    assert lines(page.locator(".meter-countdown")) <= 2.05
    assert lines(page.locator(".topic-meta > summary")) < 1.5  # one line (with its padding)
    invite = page.locator(".page-notes__invite")
    expect(invite).to_contain_text("Create an account to add page annotations")
    assert lines(invite) < 1.5
    # The authoring team stays on the page, one tap away.
    expect(page.locator(".topic-authors")).to_be_hidden()
    page.locator(".topic-meta > summary").click()
    expect(page.locator(".topic-authors")).to_be_visible()
    expect(page.locator(".topic-reviewed")).to_contain_text("Last reviewed")
    if page.viewport_size["width"] == 390:
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.locator(".topic-meta > summary").click()
        page.screenshot(path=str(SCREENS / "phone-topic.png"))


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_header_says_who_you_are_on_every_page(
    context: Any, live_server: str, sign_in: Callable[[Any, str], str]
) -> None:
    """Anonymous: Sign in and Create account (back to the page) on topics, static pages, the 404
    page and server pages, with no API request on a static page. Signed in: the address and a
    menu (My notes, Account, Sign out); signing out comes back to the page and says so."""
    from playwright.sync_api import expect

    page = context.new_page()
    api_calls: list[str] = []
    page.on("request", lambda r: api_calls.append(r.url) if "/api/" in r.url else None)
    for path, back in [
        (MAS, MAS),
        ("/about/", "/about/"),
        ("/no-such-page/", "/"),
        ("/sign-in", "/"),
    ]:
        page.goto(live_server + path)
        bar = page.locator(".account-bar")
        expect(bar.get_by_role("link", name="Sign in", exact=True)).to_have_attribute(
            "href", f"/sign-in?next={back}"
        )
        expect(bar.get_by_role("link", name="Create account", exact=True)).to_be_visible()
    assert not [u for u in api_calls if "/api/reader/" not in u], api_calls  # the panel read

    email = sign_in(page, "/about/")
    for path in ["/about/", MAS, "/account"]:
        page.goto(live_server + path)
        who = page.locator(".account-menu__who")
        expect(who).to_have_text(email)
        expect(page.locator(".account-bar").get_by_role("link", name="Sign in")).to_have_count(0)
    page.goto(live_server + MAS)
    loaded(page)
    page.locator(".account-menu__who").click()
    menu = page.locator(".account-menu__list")
    expect(menu.get_by_role("link", name="My notes")).to_have_attribute("href", "/account#my-notes")
    expect(menu.get_by_role("link", name="Account")).to_have_attribute("href", "/account")
    expect(menu.get_by_role("link", name="Editorial desk")).to_have_count(0)  # editors only
    menu.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server + MAS + "?signed-out")
    expect(page.locator(".account-status")).to_have_text("You have signed out.")
    expect(page.locator(".account-bar").get_by_role("link", name="Sign in")).to_be_visible()


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_print_has_provenance_and_the_note_only_when_ticked(
    context: Any, live_server: str, sign_in: Callable[[Any, str], str]
) -> None:
    """A printed topic says where and when it came from; the reader's note prints only when
    "Include my note when printing" is ticked (it is off by default)."""
    from playwright.sync_api import expect

    page = context.new_page()
    sign_in(page, MAS)
    page.request.put(
        f"{live_server}/api/notes/macrophage-activation-syndrome",
        data=json.dumps({"text": "Ring haematology first", "version": None}),
        headers={"content-type": "application/json"},
    )
    page.goto(live_server + MAS)
    loaded(page)
    expect(page.locator(".print-header")).to_be_hidden()
    page.emulate_media(media="print")
    header = page.locator(".print-header")
    expect(header).to_be_visible()
    expect(header).to_contain_text("Clinical Notebook")
    expect(header).to_contain_text("/topics/macrophage-activation-syndrome/")
    today = date.today()
    expect(header).to_contain_text(f"{today.day} {today:%B %Y}")
    expect(page.locator(".print-footer")).to_have_text(
        "Printed copy: check the website for the current version."
    )
    expect(page.locator(".page-notes")).to_be_hidden()
    expect(page.locator(".account-bar")).to_be_hidden()
    page.emulate_media(media="screen")
    page.get_by_label("Include my note when printing").check()
    page.emulate_media(media="print")
    notes = page.locator(".page-notes")
    expect(notes).to_be_visible()
    expect(notes).to_contain_text("Ring haematology first")
    expect(page.get_by_label("Include my note when printing")).to_be_hidden()


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_report_a_problem_without_spending_a_topic(
    context: Any, live_server: str, engine: Any
) -> None:
    """The link at the end of a topic opens the form; sending it thanks the reader, stores the
    report with the page id, and leaves the countdown where it was."""
    from playwright.sync_api import expect
    from sqlmodel import Session, select

    from site_api.models import ProblemReport

    page = context.new_page()
    page.goto(live_server + MAS)
    expect(page.locator(".meter-countdown")).to_contain_text(COUNTDOWN[4])
    page.get_by_role("link", name="Report a problem with this topic").click()
    expect(page.locator("h1")).to_have_text("Report a problem")
    marker = f"table 2 ferritin {uuid.uuid4().hex[:8]}"
    page.get_by_label("What is wrong").fill(marker)
    page.get_by_label("Reference (optional)").fill("local guideline 2026")
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("h1")).to_have_text("Thank you for your report")
    expect(page.locator(".meter-countdown")).to_contain_text(COUNTDOWN[4])
    with Session(engine) as db:
        rows = db.exec(select(ProblemReport).where(ProblemReport.what == marker)).all()
    assert [r.page_id for r in rows] == ["macrophage-activation-syndrome"]
    page.get_by_role("link", name=re.compile("^Back to")).click()
    expect(page.locator(".meter-countdown")).to_contain_text(COUNTDOWN[4])


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_note_draft_survives_leaving_the_page(
    context: Any, live_server: str, sign_in: Callable[[Any, str], str]
) -> None:
    """Unsaved text asks before leaving, is kept, and is offered back; saving clears it; a
    corrupt draft is ignored without an error."""
    from playwright.sync_api import expect

    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, MAS)
    page.goto(live_server + MAS)
    loaded(page)
    page.get_by_role("button", name="Add a note").click()
    page.locator("#page-notes-input").press_sequentially("Check ferritin trend daily")
    assert page.evaluate(DRAFTS) == [draft_key(page, live_server)]
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.type), d.accept()))
    page.locator(".topic-related").get_by_role("link", name="Still's disease").click()
    expect(page.locator("article h1")).to_have_text("Still's disease")
    assert dialogs == ["beforeunload"]

    page.goto(live_server + MAS)
    loaded(page)
    expect(page.locator(".page-notes__draft")).to_contain_text("unsaved draft")
    page.get_by_role("button", name="Restore draft").click()
    expect(page.locator("#page-notes-input")).to_have_value("Check ferritin trend daily")
    page.get_by_role("button", name="Save note").click()
    expect(page.locator(".page-notes__text")).to_have_text("Check ferritin trend daily")
    assert page.evaluate(DRAFTS) == []

    page.evaluate("(key) => localStorage.setItem(key, '{not json')", draft_key(page, live_server))
    page.reload()
    loaded(page)
    expect(page.locator(".page-notes__text")).to_have_text("Check ferritin trend daily")
    expect(page.locator(".page-notes__draft")).to_have_count(0)
    assert errors == []


@pytest.mark.parametrize("context", [pytest.param(DESKTOP, id="desktop")], indirect=True)
def test_note_drafts_belong_to_their_reader_and_go_at_sign_out(
    context: Any, live_server: str, sign_in: Callable[[Any, str], str]
) -> None:
    """Clinicians share ward computers: a draft left unsaved by one reader is never offered to
    the next reader signing in on the same browser, and is offered to its own reader again; the
    old per-page drafts (whose reader nobody knows) are offered to no one; signing out removes
    every note and CPD draft from the browser, and nothing else."""
    from playwright.sync_api import expect

    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    page.goto(live_server + "/about/")
    legacy = json.dumps({"text": "Someone's old draft", "version": None})
    page.evaluate(
        """(legacy) => {
          localStorage.setItem("note-draft:macrophage-activation-syndrome", legacy);
          localStorage.setItem("note-draft:stills-disease", legacy);
          localStorage.setItem("not-a-draft", "kept");
        }""",
        legacy,
    )

    ann = sign_in(page, MAS)
    loaded(page)
    assert page.evaluate(DRAFTS) == []  # the old per-page drafts are gone, unoffered
    expect(page.locator(".page-notes__draft")).to_have_count(0)
    page.get_by_role("button", name="Add a note").click()
    page.locator("#page-notes-input").press_sequentially("Bed 4: ring Dr Okafor on 0123")
    page.locator("#page-notes-input").press("Escape")  # closed unsaved: kept as a draft
    expect(page.locator(".page-notes__draft")).to_be_visible()
    ann_key = draft_key(page, live_server)
    assert page.evaluate(DRAFTS) == [ann_key]
    page.goto(live_server + "/about/")  # Ann walks away without saving or signing out

    sign_in(page, MAS)  # Bob, on the same browser
    loaded(page)
    expect(page.get_by_role("button", name="Add a note")).to_be_visible()
    expect(page.locator(".page-notes__draft")).to_have_count(0)
    expect(page.locator(".page-notes")).not_to_contain_text("Okafor")
    bob_key = draft_key(page, live_server)
    assert bob_key != ann_key
    assert page.evaluate(DRAFTS) == [ann_key]  # Ann's is still hers, offered to nobody else

    sign_in_as(page, live_server, ann, MAS)  # Ann comes back: her draft is offered again
    loaded(page)
    page.get_by_role("button", name="Restore draft").click()
    expect(page.locator("#page-notes-input")).to_have_value("Bed 4: ring Dr Okafor on 0123")
    page.locator("#page-notes-input").press("Escape")
    # A link that merely says "?signed-out" wipes nothing for a reader still signed in.
    page.goto(live_server + MAS + "?signed-out")
    loaded(page)
    expect(page.locator(".page-notes__draft")).to_be_visible()
    page.evaluate(
        "() => localStorage.setItem('cpd-draft:1:2026-01-05:stills-disease', "
        "JSON.stringify({learned: 'x', change: '', further: '', version: null}))"
    )
    assert page.evaluate(DRAFTS) == ["cpd-draft:1:2026-01-05:stills-disease", ann_key]

    page.locator(".account-menu__who").click()
    page.locator(".account-menu__list").get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server + MAS + "?signed-out")
    expect(page.locator(".account-status")).to_have_text("You have signed out.")
    loaded(page)
    expect(page.locator(".page-notes__invite")).to_be_visible()
    assert page.evaluate(DRAFTS) == []
    assert page.evaluate("() => localStorage.getItem('not-a-draft')") == "kept"
    sign_in_as(page, live_server, ann, MAS)
    loaded(page)
    expect(page.locator(".page-notes__draft")).to_have_count(0)
    assert errors == []


@pytest.mark.parametrize("context", [pytest.param(DESKTOP, id="desktop")], indirect=True)
def test_deleting_the_account_leaves_no_draft_in_the_browser(
    context: Any, live_server: str, sign_in: Callable[[Any, str], str]
) -> None:
    """Deleting the account signs this browser out as signing out does: its drafts go (SQLite
    may give a later account the same id, so they must not wait for it)."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    sign_in(page, MAS)
    loaded(page)
    page.get_by_role("button", name="Add a note").click()
    page.locator("#page-notes-input").press_sequentially("Unsaved when the account went")
    page.locator("#page-notes-input").press("Escape")
    assert page.evaluate(DRAFTS) == [draft_key(page, live_server)]
    page.goto(live_server + "/account")
    page.get_by_label("Your password, to confirm").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    expect(page.locator("h1")).to_have_text("Your account has been deleted")
    expect(page.locator(".account-status")).to_have_text("You have signed out.")
    assert page.evaluate(DRAFTS) == []


@pytest.mark.parametrize("context", [pytest.param(PHONE, id="phone")], indirect=True)
def test_screenshots_of_gate_and_account(
    context: Any, live_server: str, sign_in: Callable[[Any, str], str]
) -> None:
    """Phone screenshots of the gate and the account page, for a person to look at."""
    from playwright.sync_api import expect

    SCREENS.mkdir(parents=True, exist_ok=True)
    page = context.new_page()
    for slug in READ:
        page.goto(live_server + url(slug))
    page.goto(live_server + url(GATED))
    expect(page.locator("section.gate")).to_be_visible()
    page.screenshot(path=str(SCREENS / "phone-gate.png"), full_page=True)
    sign_in(page, "/account")
    page.screenshot(path=str(SCREENS / "phone-account.png"), full_page=True)


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_saved_topics_and_recently_viewed_on_the_account_page(
    context: Any, live_server: str, sign_in: Callable[[Any, str], str]
) -> None:
    """ "Save topic" on a topic puts it on the account page; the topics opened are listed newest
    first; switching recently viewed off clears the list and stops recording."""
    from playwright.sync_api import expect

    page = context.new_page()
    sign_in(page, MAS)
    loaded(page)
    save = page.get_by_role("button", name="Save topic")
    expect(save).to_have_attribute("aria-pressed", "false")
    save.click()
    saved = page.get_by_role("button", name="Saved")
    expect(saved).to_have_attribute("aria-pressed", "true")
    page.locator(".topic-related").get_by_role("link", name="Still's disease").click()
    expect(page.locator("article h1")).to_have_text("Still's disease")
    loaded(page)

    page.goto(live_server + "/account")
    shelf = page.locator("#saved + .topic-shelf")
    expect(shelf.get_by_role("link")).to_have_text(["Macrophage activation syndrome"])
    expect(shelf.get_by_role("link")).to_have_attribute("href", MAS)
    recent = page.locator("#recent + .topic-shelf").get_by_role("link")
    expect(recent).to_have_text(["Still's disease", "Macrophage activation syndrome"])
    recent.first.click()
    expect(page.locator("article h1")).to_have_text("Still's disease")

    page.goto(live_server + "/account")
    page.get_by_role("button", name="Switch off and clear recently viewed").click()
    expect(page.get_by_role("status").filter(has_text="the list has been cleared")).to_be_visible()
    page.goto(live_server + MAS)
    loaded(page)
    expect(page.get_by_role("button", name="Saved")).to_have_attribute("aria-pressed", "true")
    page.goto(live_server + "/account")
    expect(page.locator("#recent + .topic-shelf")).to_have_count(0)
    expect(page.get_by_text("Recently viewed topics are switched off: nothing")).to_be_visible()
