"""Every page type in light and dark, in a real Chromium: axe finds nothing serious or critical,
and the browser console stays free of errors (the notes panel's read is always 200)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import serious_axe_findings
from reading import GATED, READ, url

pytestmark = pytest.mark.browser

PASSWORD = "a sturdy scheme passphrase 4"
MAS = url("macrophage-activation-syndrome")
SCHEMES = {"light": "default", "dark": "slate"}


def console_errors(page: Any) -> list[str]:
    """Errors the console shows, apart from the document's own status (the gate is a 403 and
    the not-found page a 404 on purpose, and Chromium logs those)."""
    found: list[str] = []

    def note(message: Any) -> None:
        if message.type != "error":
            return
        if "status of 40" in message.text and message.location.get("url") == page.url:
            return
        found.append(f"{message.text} at {message.location.get('url')}")

    page.on("console", note)
    page.on("pageerror", lambda e: found.append(str(e)))
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_type_is_accessible_and_quiet(
    browser: Any, live_server: str, live_var: Path, axe_source: str, scheme: str
) -> None:
    from playwright.sync_api import expect

    from site_api.accounts.users import create_user
    from site_api.db import make_engine

    context = browser.new_context(color_scheme=scheme)
    try:
        page = context.new_page()
        errors = console_errors(page)
        anonymous = [
            MAS,
            "/",
            "/about/",
            "/no-such-page/",
            "/sign-in",
            "/create-account",
            "/report?page=macrophage-activation-syndrome",
        ]
        for path in anonymous:
            page.goto(live_server + path)
            expect(page.locator("body")).to_have_attribute("data-md-color-scheme", SCHEMES[scheme])
            page.wait_for_load_state("networkidle")
            assert not serious_axe_findings(page, axe_source), (path, scheme)
        for slug in READ:
            page.goto(live_server + url(slug))
        page.goto(live_server + url(GATED))
        expect(page.locator("section.gate")).to_be_visible()
        assert not serious_axe_findings(page, axe_source), ("gate", scheme)

        email = f"scheme-{uuid.uuid4().hex[:10]}@example.org"
        create_user(
            make_engine(f"sqlite:///{live_var / 'site.db'}"), email, PASSWORD, verified=True
        )
        page.goto(f"{live_server}/sign-in?next={MAS}")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page).to_have_url(live_server + MAS)
        expect(page.get_by_role("button", name="Add a note")).to_be_visible()
        assert not serious_axe_findings(page, axe_source), ("signed-in topic", scheme)
        page.get_by_role("button", name="What are notes for?").click()
        assert not serious_axe_findings(page, axe_source), ("notes explanation open", scheme)
        page.goto(f"{live_server}/search?q=ferritin")
        assert not serious_axe_findings(page, axe_source), ("signed-in results", scheme)
        page.goto(live_server + MAS)
        page.locator(".account-menu__who").click()
        assert not serious_axe_findings(page, axe_source), ("account menu open", scheme)
        page.goto(live_server + "/account")
        assert not serious_axe_findings(page, axe_source), ("account", scheme)
        assert errors == [], errors
    finally:
        context.close()


def test_palette_toggle_switches_and_remembers(browser: Any, live_server: str) -> None:
    """The header's toggle switches light to dark; the choice holds on the next page."""
    from playwright.sync_api import expect

    context = browser.new_context(color_scheme="light")
    try:
        page = context.new_page()
        page.goto(live_server + "/about/")
        body = page.locator("body")
        expect(body).to_have_attribute("data-md-color-scheme", "default")
        page.locator("label[title='Switch to dark mode']").click()
        expect(body).to_have_attribute("data-md-color-scheme", "slate")
        page.goto(live_server + MAS)
        expect(body).to_have_attribute("data-md-color-scheme", "slate")
    finally:
        context.close()
