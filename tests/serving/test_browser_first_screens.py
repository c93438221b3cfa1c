"""The reader's first screens in a real Chromium (issue 24): phone search results, the one-line
notes panel, the phone home page, print, the keyboard path to the notes, sharing for visitors and
the reference page's wording. Phone 390×844, desk 1366×900."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import inject_axe
from reading import url

from site_api.content.search_index import words

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1366, "height": 900}}
VIEWPORTS = [pytest.param(PHONE, id="phone"), pytest.param(DESK, id="desk")]
MAS = url("macrophage-activation-syndrome")
PASSWORD = "a sturdy first-screen passphrase 4"
ABOUT = (
    "Add information to this page that would be handy to have on hand during a consultation, "
    "such as a web address or phone number. This information will always be displayed when you "
    "visit this page"
)


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A new visitor's browser with the viewport under test."""
    ctx = browser.new_context(**request.param)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def sign_in(live_server: str, live_var: Path) -> Callable[[Any, str], None]:
    """sign_in(page, next): a new verified reader, signed in on `page`, back at `next`."""
    from playwright.sync_api import expect

    from site_api.accounts.users import create_user
    from site_api.db import make_engine

    engine = make_engine(f"sqlite:///{live_var / 'site.db'}")

    def run(page: Any, next_url: str) -> None:
        email = f"first-{uuid.uuid4().hex[:10]}@example.org"
        create_user(engine, email, PASSWORD, verified=True)
        page.goto(f"{live_server}/sign-in?next={next_url}")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page).to_have_url(live_server + next_url)

    return run


def loaded(page: Any) -> Any:
    from playwright.sync_api import expect

    panel = page.locator("[data-notes-slot]")
    expect(panel).not_to_have_attribute("aria-busy", "true")
    return panel


def box(locator: Any) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not rendered"
    return dict(found)


def on_first_screen(page: Any, locator: Any) -> bool:
    """Whether the whole element is inside the viewport without scrolling."""
    b = box(locator)
    size = page.viewport_size
    return bool(b["y"] >= 0 and b["y"] + b["height"] <= size["height"] and b["width"] > 0)


def lines(locator: Any) -> float:
    """How many lines of text an element takes (its height over its line height)."""
    return float(
        locator.evaluate(
            "el => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)"
        )
    )


# --- 5: phone results -------------------------------------------------------------------------


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("query", ["ferritin", "fever"])
def test_three_results_on_a_phone_first_screen(
    browser: Any, live_server: str, sign_in: Callable[[Any, str], None], signed_in: bool, query: str
) -> None:
    """At 390×844 at least three results fit the first screen, each its title, a one-line
    summary and, only when it shows a matched word the summary lacks, a snippet."""
    from playwright.sync_api import expect

    ctx = browser.new_context(**PHONE)
    try:
        page = ctx.new_page()
        if signed_in:
            sign_in(page, "/about/")
        page.goto(f"{live_server}/search?q={query}")
        results = page.locator(".search-result")
        expect(results.first).to_be_visible()
        assert results.count() >= 3, results.count()
        for i in range(3):
            assert on_first_screen(page, results.nth(i)), (i, box(results.nth(i)))
        for i in range(results.count()):
            result = results.nth(i)
            assert lines(result.locator(".search-result__summary")) < 1.5
            snippet = result.locator(".search-result__snippet")
            if snippet.count():
                # Whole words, as the index spells them ("ferritin" is not in "hyperferritinaemia").
                shown = set(words(result.inner_text().split("\n")[0]))  # title and section
                shown |= set(words(result.locator(".search-result__summary").inner_text()))
                marked = set(words(" ".join(snippet.locator("mark").all_inner_texts())))
                assert marked - shown, (marked, shown)
        if signed_in and query == "fever":
            assert page.locator(".search-result__snippet").count() >= 1  # snippets still shown
    finally:
        ctx.close()


# --- 7: first screens ---------------------------------------------------------------------------


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_signed_in_empty_panel_is_one_line_with_the_explanation_behind_a_control(
    context: Any, sign_in: Callable[[Any, str], None], axe_source: str
) -> None:
    """A signed-in reader without a note sees one line: the heading, a "?" control, Add a note
    and Save topic; the reference page's explanation opens from the control; axe finds nothing
    serious or critical either way."""
    from playwright.sync_api import expect

    page = context.new_page()
    sign_in(page, MAS)
    panel = loaded(page)
    expect(panel.get_by_role("heading", name="My notes for this page")).to_be_visible()
    head = box(panel.locator(".page-notes__head"))
    for name in ("Add a note", "Save topic", "What are notes for?"):
        control = box(panel.get_by_role("button", name=name))
        assert (
            head["y"] <= control["y"]
            and control["y"] + control["height"] <= head["y"] + head["height"] + 0.5
        ), (name, control, head)
    assert box(panel)["height"] < 56, box(panel)  # one line: about 2.3rem
    about = panel.locator("#page-notes-about")
    expect(about).to_be_hidden()
    toggle = panel.get_by_role("button", name="What are notes for?")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(about).to_be_visible()
    expect(about).to_contain_text(ABOUT)
    inject_axe(page, axe_source)
    violations = page.evaluate("async () => (await axe.run()).violations")
    assert not [v["id"] for v in violations if v["impact"] in ("serious", "critical")], violations


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_first_body_line_on_a_phone_first_screen(
    browser: Any, live_server: str, sign_in: Callable[[Any, str], None], signed_in: bool
) -> None:
    """At 390×844 the first line of the topic's body is on the first screen, anonymous or
    signed in (with share row and notes panel above it)."""
    ctx = browser.new_context(**PHONE)
    try:
        page = ctx.new_page()
        if signed_in:
            sign_in(page, MAS)
        else:
            page.goto(live_server + MAS)
        loaded(page)
        first = page.locator(".topic-body > p").first
        line = float(first.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
        top = box(first)["y"]
        assert top + line <= 844, (top, line)
    finally:
        ctx.close()


def test_phone_home_page_first_screen(browser: Any, live_server: str) -> None:
    """The phone home page's first screen holds the search box, every A–Z letter as a target of
    at least 44×44 px, and the sections."""
    ctx = browser.new_context(**PHONE)
    try:
        page = ctx.new_page()
        page.goto(live_server + "/")
        assert on_first_screen(page, page.locator("#site-search-q"))
        letters = page.locator("article nav.az-jump a")
        assert letters.count() >= 10
        for i in range(letters.count()):
            letter = box(letters.nth(i))
            assert letter["width"] >= 44 and letter["height"] >= 44, (i, letter)
            assert on_first_screen(page, letters.nth(i)), (i, letter)
        sections = page.locator("article li a[href*='sections/']")
        assert sections.count() >= 4
        for i in range(sections.count()):
            assert on_first_screen(page, sections.nth(i)), (i, box(sections.nth(i)))
    finally:
        ctx.close()


# --- 8: print -----------------------------------------------------------------------------------


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_print_media_has_no_chrome_and_prints_authors_and_next_review(
    context: Any, sign_in: Callable[[Any, str], None]
) -> None:
    """Printed (print media), a topic has no share button, banner, breadcrumbs or header, and
    shows its authors and next review date although the reviewed line was never opened."""
    from playwright.sync_api import expect

    page = context.new_page()
    sign_in(page, MAS)
    loaded(page)
    for chrome in ("[data-share-button]", ".md-banner", "nav.crumbs", ".md-header"):
        expect(page.locator(chrome).first).to_be_visible()
    expect(page.locator(".topic-authors")).to_be_hidden()
    page.emulate_media(media="print")
    for chrome in ("[data-share-button]", ".md-banner", "nav.crumbs", ".md-header", ".md-skip"):
        expect(page.locator(chrome).first).to_be_hidden()
    expect(page.locator(".topic-authors")).to_be_visible()
    expect(page.locator(".topic-authors")).to_contain_text("Authoring team")
    expect(page.locator(".topic-next-review")).to_be_visible()
    expect(page.locator(".topic-next-review")).to_contain_text("Next review due")
    expect(page.locator(".topic-meta > summary")).to_be_hidden()  # its dates print in full
    expect(page.locator(".print-header")).to_be_visible()
    # The header comes first on paper: nothing visible above it.
    assert box(page.locator(".print-header"))["y"] < box(page.locator("article h1"))["y"]


# --- 9: keyboard --------------------------------------------------------------------------------


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_skip_link_lands_on_the_title_and_the_notes_are_six_tabs_away(
    context: Any, sign_in: Callable[[Any, str], None]
) -> None:
    """From the top of a topic, the first Tab reaches "Skip to content", which lands on the
    topic's title; the notes panel's first control is at most 6 Tab presses from the top."""
    page = context.new_page()
    sign_in(page, MAS)
    page.goto(page.url)  # a fresh load: focus starts at the top
    panel = loaded(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "topic-title"
    tabs = 1
    while tabs < 12:
        page.keyboard.press("Tab")
        tabs += 1
        if panel.evaluate("(p) => p.contains(document.activeElement)"):
            break
    assert panel.evaluate("(p) => p.contains(document.activeElement)"), tabs
    assert tabs <= 6, tabs


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_escape_closes_the_editor_keeping_the_draft(
    context: Any, sign_in: Callable[[Any, str], None]
) -> None:
    """Escape in the note editor closes it; the text typed is kept as a draft, offered back."""
    from playwright.sync_api import expect

    page = context.new_page()
    sign_in(page, MAS)
    panel = loaded(page)
    panel.get_by_role("button", name="Add a note").click()
    box_ = panel.get_by_role("textbox", name="Your note")
    expect(box_).to_be_focused()
    page.keyboard.type("Bleep the haematology registrar")
    page.keyboard.press("Escape")
    expect(box_).to_have_count(0)
    expect(panel.locator(".page-notes__draft")).to_contain_text("unsaved draft")
    expect(panel.get_by_role("button", name="Add a note")).to_be_focused()
    panel.get_by_role("button", name="Restore draft").click()
    expect(panel.get_by_role("textbox", name="Your note")).to_have_value(
        "Bleep the haematology registrar"
    )
    # An editor closed with nothing typed leaves no draft behind.
    panel.get_by_role("button", name="Cancel").click()
    panel.get_by_role("button", name="Add a note").click()
    page.keyboard.press("Escape")
    expect(panel.locator(".page-notes__draft")).to_have_count(0)


# --- 11 and 12: sharing and wording for visitors ----------------------------------------------


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_visitor_sees_sign_in_to_share_and_the_reference_invitation(
    context: Any, live_server: str
) -> None:
    """An anonymous reader has no share button but the line "Sign in to share this topic with
    a colleague", and the notes invitation "Create an account to add page annotations" on one
    line with its create-account and sign-in links."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(live_server + MAS)
    panel = loaded(page)
    expect(page.get_by_role("button", name="Share with a colleague")).to_have_count(0)
    line = page.locator(".topic-share__signed-out")
    expect(line).to_have_text("Sign in to share this topic with a colleague")
    expect(line.get_by_role("link", name="Sign in")).to_have_attribute(
        "href", f"/sign-in?next={MAS}"
    )
    invite = panel.locator(".page-notes__invite")
    expect(invite).to_have_text("Create an account to add page annotations · Sign in")
    assert lines(invite) < 1.5
    expect(invite.get_by_role("link", name="Create an account")).to_have_attribute(
        "href", f"/create-account?next={MAS}"
    )
    expect(invite.get_by_role("link", name="Sign in")).to_have_attribute(
        "href", f"/sign-in?next={MAS}"
    )
    # Not cut off: the whole line shows.
    assert invite.evaluate("e => e.scrollWidth <= e.clientWidth + 1")


@pytest.mark.parametrize("context", VIEWPORTS, indirect=True)
def test_signed_in_reader_has_the_share_button_and_no_sign_in_line(
    context: Any, sign_in: Callable[[Any, str], None], live_server: str
) -> None:
    """A signed-in reader gets the button; its link uses SITE_PUBLIC_URL."""
    from playwright.sync_api import expect

    page = context.new_page()
    sign_in(page, MAS)
    loaded(page)
    expect(page.locator(".topic-share__signed-out")).to_be_hidden()
    response = page.request.post(
        f"{live_server}/api/shares",
        data=json.dumps({"page_id": "macrophage-activation-syndrome"}),
        headers={"content-type": "application/json"},
    )
    assert response.status in (200, 201), response.text()
    assert response.json()["url"].startswith(live_server + MAS)  # the live server's public URL
    expect(page.get_by_role("button", name="Share with a colleague")).to_be_visible()
