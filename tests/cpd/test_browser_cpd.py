"""CPD reading time in a real Chromium: only foreground time counts, a hidden tab adds nothing,
two tabs are not counted twice, the cap holds, nothing is sent for a reader who does not record;
the certificate prints (print media) without the site's chrome; and reflections are kept as
notes are (a draft in the browser until saved, versions) on their page and in a topic's panel.

Time is Playwright's fake clock in the page (`page.clock`: Date and performance.now), so no test
waits minutes; the server credits on its real clock. Hiding a tab is the page's own
`visibilitychange` with `document.visibilityState` set to "hidden", as a browser does when a tab
goes to the background (headless Chromium keeps every page visible).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_KEY, serious_axe_findings
from cpd_helpers import TOPICS
from servers import SITE_API, free_port, start, stop, wait_http
from sqlmodel import Session, select

from site_api.cpd.recorder import CpdRecorder
from site_api.db import make_engine
from site_api.models import CpdReading, CpdReflection, User

pytestmark = pytest.mark.browser
PASSWORD = "a sturdy cpd passphrase 7"
CAP = 1800
HIDE = """() => {
  Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
  return Date.now() / 1000;
}"""
SHOW = """() => {
  Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


@pytest.fixture(scope="module")
def server(built_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """`site-api serve` writing CPD seconds every 0.2 s; its base URL and database engine."""
    var = tmp_path_factory.mktemp("cpd-var")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SITE_SITE_DIR": str(built_site),
        "SITE_VAR_DIR": str(var),
        "SITE_DATABASE_URL": "",
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_PUBLIC_URL": base,
        "SITE_FUNNEL_FLUSH_SECONDS": "0.2",
        "SITE_CPD_MAX_SECONDS": str(CAP),
    }
    log = var / "server.log"
    proc = start([SITE_API, "serve", "--port", str(port)], log, env)
    try:
        wait_http(base + "/", proc, log, timeout=60)
        yield base, make_engine(f"sqlite:///{var / 'site.db'}")
    finally:
        stop(proc)


@pytest.fixture
def reader(browser: Any, server: tuple[str, Any]) -> Iterator[Callable[..., tuple[Any, int]]]:
    """reader(cpd=True) -> (a signed-in browser context, the reader's id)."""
    from playwright.sync_api import expect

    from site_api.accounts.users import create_user

    base, engine = server
    contexts: list[Any] = []

    def make(cpd: bool = True) -> tuple[Any, int]:
        email = f"cpd-{uuid.uuid4().hex[:12]}@example.org"
        create_user(engine, email, PASSWORD, verified=True)
        with Session(engine) as db:
            user = db.exec(select(User).where(User.email == email)).one()
            user.cpd_on = cpd
            user.cpd_name = "Dr Ada Example"
            db.add(user)
            db.commit()
            assert user.id is not None
            user_id = user.id
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{base}/sign-in?next=/account")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page).to_have_url(base + "/account")
        page.close()
        return context, user_id

    yield make
    for context in contexts:
        context.close()


def open_topic(context: Any, base: str, topic: str) -> tuple[Any, list[dict[str, Any]]]:
    """A page on `topic` with a fake clock, once notes.js has read who is reading; and the list
    the page's beacons are appended to."""
    from playwright.sync_api import expect

    page = context.new_page()
    beacons: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            beacons.append(json.loads(r.post_data or "{}"))
            if r.url.endswith("/api/cpd/beacon")
            else None
        ),
    )
    page.clock.install()
    page.goto(f"{base}/topics/{topic}/")
    expect(page.locator("section.page-notes")).not_to_have_attribute("aria-busy", "true")
    # From here page time moves only when the test says (a second on, then paused).
    page.clock.pause_at(page.evaluate("Date.now() / 1000") + 1)  # seconds in Python
    return page, beacons


def stored(engine: Any, user_id: int, want: int | None = None) -> dict[str, int]:
    """Seconds stored per topic, once the server's next flush has written `want` in all."""
    deadline = time.monotonic() + 15
    while True:
        with Session(engine) as db:
            rows = db.exec(select(CpdReading).where(CpdReading.user_id == user_id)).all()
        found = {r.page_id: r.seconds for r in rows}
        if want is None or sum(found.values()) >= want or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def hide(page: Any) -> float:
    """Send the page to the background; the page's (fake) time when it went, in seconds."""
    return float(page.evaluate(HIDE))


def test_only_foreground_time_counts(server: tuple[str, Any], reader: Callable[..., Any]) -> None:
    """The page reports 120 s, then 210 s: the ten minutes in the background add nothing. The
    live server credits the first in full and the second only with the real time since (fake
    page time cannot buy more than real time); the server's rule on the page's own clock credits
    exactly 210."""
    base, engine = server
    context, user_id = reader()
    page, beacons = open_topic(context, base, TOPICS[0])
    page.clock.run_for(120_000)  # two minutes in front
    sent = [hide(page)]
    # Beacons may arrive in any order under load (the later total would then be credited in
    # full and the earlier ignored): the first is counted before the second is sent.
    deadline = time.monotonic() + 15
    while not beacons and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    stored(engine, user_id, int(beacons[0]["seconds"]))
    page.clock.run_for(600_000)  # ten minutes in the background: nothing
    page.evaluate(SHOW)
    page.clock.run_for(90_000)
    sent.append(hide(page))
    page.wait_for_timeout(300)  # let the beacon requests leave
    first, second = (b["seconds"] for b in beacons)  # (plus the moment the page took to load)
    assert 120 <= first < 130 and second - first == 90
    assert {b["page"] for b in beacons} == {TOPICS[0]} and len({b["view"] for b in beacons}) == 1
    live = stored(engine, user_id, first)[TOPICS[0]]
    assert first <= live < second
    on_page_time = CpdRecorder(engine, CAP)
    credited = [
        on_page_time.report(user_id, b["page"], b["view"], b["seconds"], now=t)
        for b, t in zip(beacons, sent, strict=True)
    ]
    assert credited == [first, 90]


def test_two_tabs_are_not_counted_twice(
    server: tuple[str, Any], reader: Callable[..., Any]
) -> None:
    base, engine = server
    context, user_id = reader()
    first, sent_first = open_topic(context, base, TOPICS[1])
    second, sent_second = open_topic(context, base, TOPICS[2])
    # One clock per browser context: both tabs are in front for the same 200 seconds.
    first.clock.run_for(200_000)
    hide(first)
    hide(second)
    first.wait_for_timeout(300)
    for sent in (sent_first, sent_second):  # (plus the moments the pages took to load)
        assert len(sent) == 1 and 200 <= sent[0]["seconds"] < 215
    total = sum(stored(engine, user_id, 200).values())
    # 400 seconds were claimed in the few real seconds this test took: 200 and those are credited.
    assert 200 <= total < 300


def test_the_cap_holds(server: tuple[str, Any], reader: Callable[..., Any]) -> None:
    base, engine = server
    context, user_id = reader()
    page, beacons = open_topic(context, base, TOPICS[0])
    page.clock.run_for(3 * 3600 * 1000)  # a tab left in front for three hours
    page.close(run_before_unload=True)  # pagehide sends the last beacon
    assert stored(engine, user_id, CAP) == {TOPICS[0]: CAP}


def test_nothing_is_sent_for_a_reader_who_does_not_record(
    server: tuple[str, Any], reader: Callable[..., Any]
) -> None:
    base, engine = server
    context, user_id = reader(cpd=False)
    page, beacons = open_topic(context, base, TOPICS[0])
    page.clock.run_for(300_000)
    hide(page)
    page.wait_for_timeout(300)
    assert beacons == []
    assert stored(engine, user_id) == {}


def test_certificate_prints_without_the_sites_chrome(
    server: tuple[str, Any], reader: Callable[..., Any]
) -> None:
    from playwright.sync_api import expect

    base, engine = server
    context, user_id = reader()
    page, _ = open_topic(context, base, TOPICS[0])
    page.clock.run_for(200_000)
    hide(page)
    stored(engine, user_id, 200)
    # Back on the topic: a link beside "Report a problem" opens the entry's reflection form.
    log = context.new_page()
    log.goto(f"{base}/topics/{TOPICS[0]}/")
    log.get_by_role("link", name="Reflect on this topic for CPD").click()
    log.fill("#learned", "Ferritin above 10,000 µg/L points to HLH or MAS.")
    log.get_by_role("button", name="Save reflection").click()
    expect(log.locator("[data-cpd-year-totals]")).to_contain_text("0.05 hours claimed")
    topic = context.new_page()
    topic.goto(f"{base}/topics/{TOPICS[0]}/")
    expect(topic.get_by_role("link", name="Edit your CPD reflection")).to_be_visible()
    topic.close()
    log.get_by_role("link", name="Certificate for this year (to print)").click()
    log.emulate_media(media="print")
    certificate = log.locator(".cpd-certificate")
    expect(certificate.locator("[data-cpd-name]")).to_have_text("Dr Ada Example")
    expect(certificate.locator("[data-cpd-claimed]")).to_have_text("0.05")
    expect(certificate).to_contain_text("Ferritin above 10,000")
    expect(certificate).to_contain_text("Clinical Notebook")
    for chrome in (".md-header", ".md-footer", ".cpd-certificate__back", ".site-search"):
        hidden = log.locator(chrome)
        if hidden.count():
            expect(hidden.first).to_be_hidden()
    pdf = log.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


ELSEWHERE = 'Changed elsewhere <img src=x onerror="window.pwned=1">'
DRAFTS = "() => Object.keys(localStorage).filter((key) => key.startsWith('cpd-draft:')).sort()"


def counted_entry(engine: Any, user_id: int, topic: str) -> str:
    """A counted entry today (200 s, over the 180 s minimum) put straight into the log; its day."""
    day = datetime.now(UTC).date()
    with Session(engine) as db:
        db.add(CpdReading(user_id=user_id, page_id=topic, day=day, seconds=200))
        db.commit()
    return day.isoformat()


def reflections(engine: Any, user_id: int) -> list[tuple[str, str, int]]:
    """(topic, what was learned, version) of each reflection the reader saved."""
    with Session(engine) as db:
        rows = db.exec(select(CpdReflection).where(CpdReflection.user_id == user_id)).all()
    return [(r.page_id, r.learned, r.version) for r in rows]


def test_a_reflection_draft_survives_a_reload_and_goes_on_save(
    server: tuple[str, Any], reader: Callable[..., Any], axe_source: str
) -> None:
    """Typed on the reflection page and left unsaved: after a reload (and after leaving and
    coming back) it is offered back under the reader's and entry's own key; saving it claims
    the entry and leaves no draft behind; a second reader on the same browser is offered
    nothing."""
    from playwright.sync_api import expect

    base, engine = server
    context, user_id = reader()
    day = counted_entry(engine, user_id, TOPICS[1])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())  # "leave the page?" while text is unsaved
    form_url = f"{base}/account/cpd/reflect?page={TOPICS[1]}&day={day}"
    page.goto(form_url)
    page.locator("#learned").press_sequentially("Ferritin trend matters more than one value")
    page.locator("#further").press_sequentially("Read the HLH-2004 criteria")
    key = f"cpd-draft:{user_id}:{day}:{TOPICS[1]}"
    assert page.evaluate(DRAFTS) == [key]
    page.reload()
    # Offered back, as a note's draft is, never applied unasked.
    expect(page.locator(".cpd-reflect__draft")).to_contain_text("unsaved draft")
    expect(page.locator("#learned")).to_have_value("")
    assert not serious_axe_findings(page, axe_source)
    page.get_by_role("button", name="Restore draft").click()
    expect(page.locator("#learned")).to_have_value("Ferritin trend matters more than one value")
    expect(page.locator("#further")).to_have_value("Read the HLH-2004 criteria")
    page.goto(f"{base}/account/cpd")
    page.goto(form_url)
    expect(page.locator("#learned")).to_have_value("")
    expect(page.locator(".cpd-reflect__draft")).to_contain_text("unsaved draft")
    page.get_by_role("button", name="Restore draft").click()
    expect(page.locator("#learned")).to_have_value("Ferritin trend matters more than one value")
    expect(page.locator("#further")).to_have_value("Read the HLH-2004 criteria")
    assert reflections(engine, user_id) == []  # a draft is never sent anywhere
    page.get_by_role("button", name="Save reflection").click()
    expect(page).to_have_url(f"{base}/account/cpd?done=reflected")
    assert page.evaluate(DRAFTS) == []
    assert reflections(engine, user_id) == [
        (TOPICS[1], "Ferritin trend matters more than one value", 1)
    ]
    expect(page.locator("[data-cpd-year-totals]")).to_contain_text("0.05 hours claimed")
    # Editing it later starts from the saved text and version 1.
    page.goto(form_url)
    expect(page.locator("#learned")).to_have_value("Ferritin trend matters more than one value")
    expect(page.locator(".cpd-reflect__draft")).to_have_count(0)
    # Another reader's unsaved text on the same browser is not offered to this one.
    page.evaluate(
        "(key) => localStorage.setItem(key, JSON.stringify({learned: 'not mine', change: '', "
        "further: '', version: null}))",
        f"cpd-draft:{user_id + 1000}:{day}:{TOPICS[1]}",
    )
    page.reload()
    expect(page.locator("#learned")).to_have_value("Ferritin trend matters more than one value")
    expect(page.locator(".cpd-reflect__draft")).to_have_count(0)
    assert errors == []


def test_the_topic_panel_offers_the_reflection_form(
    server: tuple[str, Any], reader: Callable[..., Any], axe_source: str
) -> None:
    """On a topic in the reader's log the notes panel has a button that opens the reflection
    form in place: a draft there survives a reload, saving claims the entry, and a reflection
    changed in another tab is shown, not overwritten, until the reader saves theirs again."""
    from playwright.sync_api import expect

    base, engine = server
    context, user_id = reader()
    day = counted_entry(engine, user_id, TOPICS[2])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    page.goto(f"{base}/topics/{TOPICS[2]}/")
    toggle = page.locator("section.page-notes [data-cpd-panel]")
    expect(toggle).to_have_text("Reflect for CPD")
    expect(page.locator("#cpd-reflect-panel")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.locator("#cpd-panel-learned").press_sequentially("Echo at diagnosis and at six weeks")
    page.reload()
    expect(page.locator("#cpd-reflect-panel")).to_be_visible()  # opened to offer the draft
    expect(page.locator(".cpd-reflect__draft")).to_contain_text("unsaved draft")
    assert not serious_axe_findings(page, axe_source)
    page.get_by_role("button", name="Restore draft").click()
    page.get_by_role("button", name="Save reflection").click()
    expect(page.locator("#cpd-reflect-panel .cpd-reflect__status")).to_have_text(
        "Reflection saved: the entry is claimed."
    )
    expect(toggle).to_have_text("CPD reflection")
    assert reflections(engine, user_id) == [(TOPICS[2], "Echo at diagnosis and at six weeks", 1)]
    assert page.evaluate(DRAFTS) == []

    # Changed in another tab meanwhile: this tab's save is refused and the saved one shown.
    other = context.request.put(
        f"{base}/api/cpd/reflections/{day}/{TOPICS[2]}",
        data={"learned": ELSEWHERE, "version": 1},
    )
    assert other.status == 200, other.text()
    page.locator("#cpd-panel-change").press_sequentially("Book the echo myself")
    page.get_by_role("button", name="Save reflection").click()
    expect(page.locator(".cpd-saved")).to_contain_text(ELSEWHERE)  # as text, not markup
    assert page.locator(".cpd-saved img").count() == 0
    assert page.evaluate("window.pwned") is None
    assert not serious_axe_findings(page, axe_source)
    assert reflections(engine, user_id) == [(TOPICS[2], ELSEWHERE, 2)]
    page.get_by_role("button", name="Save reflection").click()  # keep mine
    expect(page.locator(".cpd-saved")).to_have_count(0)
    assert reflections(engine, user_id) == [(TOPICS[2], "Echo at diagnosis and at six weeks", 3)]
    assert errors == []
