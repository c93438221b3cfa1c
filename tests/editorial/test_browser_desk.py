"""The editorial desk in Chromium: an editor signs in and sees reader reports, the review queue,
unanswered searches and the funnel with its plots; triage works without JavaScript; axe clean."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from conftest import inject_axe
from visitors import GATED, TOPICS

from site_api.accounts import users
from site_api.db import make_engine
from site_api.reports import store
from site_api.search.misses import MissCounter
from site_api.serving.funnel import FunnelCounter, utc_day

pytestmark = pytest.mark.browser

EMAIL = "desk-editor@example.org"
PASSWORD = "an editor's long passphrase"


def axe(page: Any, axe_source: str) -> list[dict[str, Any]]:
    inject_axe(page, axe_source)
    return page.evaluate("async () => (await axe.run(document)).violations")  # type: ignore[no-any-return]


def report(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
    )


@pytest.fixture(scope="module")
def desk_data(live_server: str, live_var: Path) -> int:
    """An editor, a report, an unanswered search and a few days of funnel counts, in the live
    server's database; returns the report's id."""
    engine = make_engine(f"sqlite:///{live_var / 'site.db'}")
    if users.find_user(engine, EMAIL) is None:
        users.create_user(engine, EMAIL, PASSWORD, verified=True, editor=True)
    checked = store.check(
        TOPICS[0], "The ferritin threshold in the table looks out of date.", "", ""
    )
    number = store.save(engine, checked, None, "192.0.2.7")
    misses = MissCounter(engine)
    misses.add("tocilizumab dose", "192.0.2.1")
    misses.flush()
    funnel = FunnelCounter(engine)
    now = time.time()
    for back, (views, gates, won) in enumerate([(40, 9, 3), (35, 7, 2), (50, 12, 4), (20, 4, 1)]):
        when = now - (10 + back) * 86400  # days no other test's page views count on
        for _ in range(views):
            funnel.add(TOPICS[back % len(TOPICS)], "view", when)
        for _ in range(gates):
            funnel.add(GATED, "gate", when)
        for _ in range(won):
            funnel.add(GATED, "gate_account", when)
    funnel.flush()
    return number


def test_an_editor_sees_the_desk_and_triages_a_report(
    page: Any, live_server: str, desk_data: int, axe_source: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    response = page.goto(f"{live_server}/editorial/")
    assert response is not None
    expect(page).to_have_url(f"{live_server}/sign-in?next=/editorial/")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{live_server}/editorial/")
    # An editor's account menu, on every page, leads to the desk.
    page.goto(f"{live_server}/about/")
    page.locator(".account-menu__who").click()
    page.locator(".account-menu__list").get_by_role("link", name="Editorial desk").click()
    expect(page).to_have_url(f"{live_server}/editorial/")
    for heading in ("Reader reports", "Review queue", "Unanswered searches", "Meter funnel"):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    card = page.locator(f"#report-{desk_data}")
    expect(card).to_contain_text("The ferritin threshold in the table looks out of date.")
    expect(page.locator("#searches")).to_contain_text("tocilizumab dose")
    expect(page.locator("#funnel svg.desk-plot")).to_be_visible()
    assert report(axe(page, axe_source)) == ""
    page.screenshot(path=str(tmp_path / "desk.png"), full_page=True)

    card.get_by_label("Status").select_option("in_progress")
    card.get_by_label("Editors' remark (never shown to the reader)").fill("Checking with NICE.")
    card.get_by_role("button", name=f"Save report {desk_data}").click()
    expect(page.locator(f"#report-{desk_data}")).to_contain_text("In progress")
    expect(page.locator(f"#remark-{desk_data}")).to_have_value("Checking with NICE.")

    page.get_by_role("link", name="Per day, per topic, any range").click()
    expect(page.get_by_role("heading", name="Meter funnel", level=1)).to_be_visible()
    expect(page.locator("svg.desk-plot")).to_have_count(2)
    expect(page.get_by_role("img", name="Funnel per day")).to_be_visible()
    day = utc_day(time.time() - 10 * 86400).isoformat()  # the funnel's days are UTC
    row = page.locator("table", has_text="Per day").locator("tr", has_text=day)
    expect(row.get_by_role("cell")).to_have_text(["40", "9", "3", "0"])
    assert report(axe(page, axe_source)) == ""
    page.screenshot(path=str(tmp_path / "funnel.png"), full_page=True)

    # On a phone a plot keeps its size and scrolls sideways (its labels stay readable), and the
    # scrolling regions can be reached from the keyboard (axe: scrollable-region-focusable).
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    plot = page.get_by_role("img", name="Funnel per day")
    assert plot.evaluate("e => e.getBoundingClientRect().width") >= 400
    figure = page.locator("figure.desk-figure").last
    assert figure.evaluate("e => e.scrollWidth > e.clientWidth")
    assert figure.get_attribute("tabindex") == "0"
    assert report(axe(page, axe_source)) == ""


def test_a_reader_sees_no_desk(page: Any, live_server: str, live_var: Path) -> None:
    engine = make_engine(f"sqlite:///{live_var / 'site.db'}")
    if users.find_user(engine, "desk-reader@example.org") is None:
        users.create_user(engine, "desk-reader@example.org", PASSWORD, verified=True)
    page.goto(f"{live_server}/sign-in?next=/")
    page.fill("#email", "desk-reader@example.org")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    response = page.goto(f"{live_server}/editorial/")
    assert response is not None and response.status == 404
    assert "Reader reports" not in page.content()
