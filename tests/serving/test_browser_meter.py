"""The anonymous reader's meter in a real Chromium: the countdown, the gate and re-reading."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reading import (
    ALL_USED,
    COUNTDOWN,
    FREE_PAGES,
    GATED,
    LAST,
    READ,
    body_sentence,
    front_matter,
    url,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A new anonymous visitor: a fresh browser context (no cookies), closed afterwards."""
    context = browser.new_context()
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def countdown(page: Any) -> Any:
    return page.locator(".md-banner .meter-countdown")


def read_free_topics(page: Any, live_server: str) -> None:
    """Spend every free page on READ, each opening with its own title."""
    for slug in READ:
        response = page.goto(live_server + url(slug))
        assert response is not None and response.status == 200, slug
        assert page.locator("article h1").inner_text() == front_matter(slug)["title"]


def assert_gate(page: Any, response: Any, slug: str, built_site: Path) -> None:
    """The gate for `slug`: 403, its title and summary, sign-in links back to it, no body."""
    from playwright.sync_api import expect

    # The sentence is rendered verbatim in the built page, so its absence below means something.
    built = (built_site / url(slug).strip("/") / "index.html").read_text(encoding="utf-8")
    assert body_sentence(slug) in built
    assert response is not None and response.status == 403
    meta = front_matter(slug)
    gate = page.locator("section.gate")
    expect(gate.locator("h1")).to_have_text(meta["title"])
    expect(gate.locator(".gate-summary")).to_have_text(meta["summary"])
    next_query = f"?next={url(slug)}&from=gate"  # from=gate: the funnel's attribution
    expect(gate.get_by_role("link", name="Sign in", exact=True)).to_have_attribute(
        "href", "/sign-in" + next_query
    )
    expect(gate.get_by_role("link", name="Create a free account", exact=True)).to_have_attribute(
        "href", "/create-account" + next_query
    )
    assert page.locator(".topic-body").count() == 0
    assert body_sentence(slug) not in page.content()


def test_countdown_falls_then_gate(page: Any, live_server: str, built_site: Path) -> None:
    """The countdown falls 5, 4, 3, 2, 1, last; the sixth topic is gated; read topics reopen."""
    from playwright.sync_api import expect

    page.goto(live_server + "/")
    expect(countdown(page)).to_contain_text(COUNTDOWN[5])

    expected = [COUNTDOWN[4], COUNTDOWN[3], COUNTDOWN[2], COUNTDOWN[1], LAST]
    assert len(READ) == FREE_PAGES == len(expected)
    for number, (slug, text) in enumerate(zip(READ, expected, strict=True), start=1):
        response = page.goto(live_server + url(slug))
        assert response is not None and response.status == 200, slug
        expect(page.locator("article h1")).to_have_text(front_matter(slug)["title"])
        expect(countdown(page)).to_contain_text(text)
        if number == 2:
            # A free page shows the count without spending it.
            page.goto(live_server + "/about/")
            expect(countdown(page)).to_contain_text(COUNTDOWN[3])
        if number == 3:
            link = countdown(page).get_by_role("link", name="Sign in", exact=True)
            expect(link).to_have_attribute("href", f"/sign-in?next={url(slug)}")

    response = page.goto(live_server + url(GATED))
    assert_gate(page, response, GATED, built_site)

    first = READ[0]
    response = page.goto(live_server + url(first))
    assert response is not None and response.status == 200
    expect(page.locator("section.gate")).to_have_count(0)
    expect(page.locator("article h1")).to_have_text(front_matter(first)["title"])
    expect(page.locator(".topic-body")).to_contain_text(body_sentence(first))
    expect(countdown(page)).to_contain_text(ALL_USED)


def test_gate_holds_without_javascript(browser: Any, live_server: str, built_site: Path) -> None:
    """The gate is the server's: with JavaScript off the sixth topic is still 403, no body."""
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        read_free_topics(page, live_server)
        response = page.goto(live_server + url(GATED))
        assert_gate(page, response, GATED, built_site)
    finally:
        context.close()


def test_gate_looks_like_the_site(page: Any, live_server: str, tmp_path: Path) -> None:
    """The gate keeps the notice, header, footer, styles and links of every other page."""
    from playwright.sync_api import expect

    def header_colour() -> str:
        return str(page.locator(".md-header").evaluate("e => getComputedStyle(e).backgroundColor"))

    read_free_topics(page, live_server)
    topic_header = header_colour()
    response = page.goto(live_server + url(GATED))
    assert response is not None and response.status == 403
    page.screenshot(path=str(tmp_path / "gate.png"), full_page=True)

    expect(page).to_have_title(re.compile("^" + re.escape(front_matter(GATED)["title"]) + " - "))
    expect(page.get_by_text("This site is intended for healthcare professionals")).to_be_visible()
    expect(page.locator(".md-header")).to_be_visible()
    expect(page.locator(".md-footer")).to_be_visible()
    expect(page.locator("section.gate h1")).to_be_visible()
    # Styled like a topic page: the site's stylesheets loaded at the gate's URL too.
    assert header_colour() == topic_header
    # Its navigation leads to the site's pages, not to paths under the gated topic.
    about = page.locator(".md-nav a", has_text="About us").first
    assert about.evaluate("a => new URL(a.href).pathname") == "/about/"
