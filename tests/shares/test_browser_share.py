"""'Share with a colleague' in a real Chromium: a signed-in reader makes a link, a colleague's
fresh browser opens it with the banner; an anonymous visitor sees no button, only a line asking
them to sign in."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CRS = "/topics/cytokine-release-syndrome/"
PASSWORD = "a sturdy sharing passphrase 8"


def test_reader_shares_and_a_colleague_opens_it(
    browser: Any, live_server: str, live_var: Path, body_text: str
) -> None:
    from playwright.sync_api import expect

    from site_api.accounts.users import create_user
    from site_api.db import make_engine

    email = f"share-{uuid.uuid4().hex[:12]}@example.org"
    create_user(make_engine(f"sqlite:///{live_var / 'site.db'}"), email, PASSWORD, verified=True)
    reader = browser.new_context()
    colleague = browser.new_context()
    try:
        page = reader.new_page()
        page.goto(f"{live_server}/sign-in?next={CRS}")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page).to_have_url(live_server + CRS)
        page.get_by_role("button", name="Share with a colleague").click()
        field = page.locator("[data-share-url]")
        expect(field).to_be_visible()
        url = field.input_value()
        assert url.startswith(f"{live_server}{CRS}?share=")
        expect(page.locator("[data-share-status]")).to_contain_text("once in each browser")

        other = colleague.new_page()
        other.goto(url)
        expect(other.locator(".share-access")).to_contain_text("Shared by a registered colleague")
        assert body_text in other.content()
    finally:
        reader.close()
        colleague.close()


def test_anonymous_visitor_is_asked_to_sign_in(page: Any, live_server: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server}/topics/stills-disease/")
    expect(page.get_by_role("button", name="Share with a colleague")).to_have_count(0)
    line = page.locator(".topic-share__signed-out")
    expect(line).to_be_visible()
    expect(line).to_have_text("Sign in to share this topic with a colleague")
    expect(line.get_by_role("link", name="Sign in")).to_have_attribute(
        "href", "/sign-in?next=/topics/stills-disease/"
    )
