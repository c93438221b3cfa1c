"""A new reader's whole journey in Chromium: create, verify, sign in, read past the meter,
sign out, forget the password, reset it from the emailed link, sign in again."""

from __future__ import annotations

import email
import re
import time
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from reading import GATED as GATED_SLUG
from reading import READ, url

pytestmark = pytest.mark.browser

GATED = url(GATED_SLUG)
EMAIL = "journey@example.org"
FIRST, SECOND = "first sturdy passphrase 1", "second sturdy passphrase 2"


def mail_to(outbox: Path, subject: str, after: float) -> Message:
    """The newest message with this subject written to the dev outbox since `after`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
            message = email.message_from_bytes(path.read_bytes())
            if (
                path.stat().st_mtime >= after
                and message["Subject"] == subject
                and message["To"] == EMAIL
            ):
                return message
        time.sleep(0.1)
    raise AssertionError(f"no message {subject!r} to {EMAIL} in {outbox}")


def link_in(message: Message, base: str) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    found = re.search(re.escape(base) + r"/\S+", payload.decode())
    assert found, payload
    return found.group(0)


def sign_in(page: Any, password: str) -> None:
    page.fill("#email", EMAIL)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_new_reader_journey(page: Any, live_server: str, live_var: Path) -> None:
    from playwright.sync_api import expect

    outbox = live_var / "outbox"
    for slug in READ:  # use up the free pages
        page.goto(f"{live_server}/topics/{slug}/")
    response = page.goto(live_server + GATED)
    assert response.status == 403

    started = time.time() - 1
    page.get_by_role("link", name="Create a free account").click()
    page.fill("#email", EMAIL)
    page.fill("#password", FIRST)
    page.get_by_role("button", name="Create account").click()
    # Signed in at once, back on the topic they were stopped at, reminded to confirm.
    expect(page).to_have_url(live_server + GATED)
    expect(page.locator("article h1")).to_have_text("Still's disease")
    expect(page.locator(".topic-body")).to_be_visible()
    expect(page.locator(".meter-countdown")).to_contain_text("Please confirm your email address")
    expect(page.locator(".account-menu__who")).to_have_text(EMAIL)

    page.goto(link_in(mail_to(outbox, "Confirm your email address", started), live_server))
    expect(page.get_by_text("Your email address is confirmed")).to_be_visible()

    page.goto(live_server + GATED)
    expect(page.locator("h1")).to_have_text("Still's disease")
    expect(page.locator(".topic-body")).to_be_visible()
    expect(page.locator(".meter-countdown")).to_have_count(0)

    # Sign out from the header's menu: back on the same page, which says so.
    page.locator(".account-menu__who").click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(live_server + GATED) + r"\?signed-out$"))
    expect(page.locator(".account-status")).to_have_text("You have signed out.")
    expect(page.locator("section.gate")).to_be_visible()
    assert page.goto(live_server + GATED).status == 403

    started = time.time() - 1
    page.goto(live_server + "/forgot-password")
    page.fill("#email", EMAIL)
    page.get_by_role("button", name="Send the link").click()
    page.goto(link_in(mail_to(outbox, "Reset your password", started), live_server))
    page.locator("input[type=password]").first.fill(SECOND)
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_text("Your password has been changed")).to_be_visible()

    page.goto(f"{live_server}/sign-in?next={GATED}")
    sign_in(page, FIRST)
    expect(page.get_by_text("do not match an account")).to_be_visible()
    sign_in(page, SECOND)
    expect(page).to_have_url(live_server + GATED)
    expect(page.locator(".topic-body")).to_be_visible()
