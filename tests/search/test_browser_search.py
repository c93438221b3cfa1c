"""The header's search box in Chromium: suggestions, keyboard, Enter, the combobox pattern, axe."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import inject_axe

pytestmark = pytest.mark.browser

BOX = "#site-search-q"
LIST = "#site-search-list"


def axe(page: Any, axe_source: str, context: str = "document") -> list[dict[str, Any]]:
    inject_axe(page, axe_source)
    return page.evaluate(f"async () => (await axe.run({context})).violations")  # type: ignore[no-any-return]


def report(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
    )


def test_suggestions_as_you_type_and_the_keyboard(page: Any, live_server: str) -> None:
    from playwright.sync_api import expect

    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/search" in r.url else None)
    page.goto(live_server + "/about/")
    box = page.locator(BOX)
    expect(box).to_have_attribute("role", "combobox")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press_sequentially("hyperferr", delay=15)
    options = page.locator(f"{LIST} [role=option]")
    expect(options.first).to_contain_text("Hyperferritinaemia")
    expect(box).to_have_attribute("aria-expanded", "true")
    assert len(asked) <= 3, f"debounced: one question per pause, not per key ({asked})"
    assert all("suggest=true" in url for url in asked)

    box.press("ArrowDown")
    first_id = options.first.get_attribute("id")
    expect(box).to_have_attribute("aria-activedescendant", first_id)
    expect(options.first).to_have_attribute("aria-selected", "true")
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.locator(LIST)).to_be_hidden()
    box.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    page.wait_for_url("**/topics/hyperferritinaemia/")


def test_enter_opens_the_results_page(page: Any, live_server: str) -> None:
    page.goto(live_server + "/")
    box = page.locator(BOX)
    box.fill("hemophagocytic")
    box.press("Enter")
    page.wait_for_url("**/search?q=hemophagocytic")
    first = page.locator(".search-result__title a").first
    assert first.inner_text() == "Haemophagocytic lymphohistiocytosis"
    topics = page.locator(".search-result:has(a[href^='/topics/']) .search-result__snippet")
    assert topics.count() == 0, "anonymous: no gated body"


@pytest.mark.parametrize("query", ["MAS", "HLH", "ferritn"])
def test_first_suggestion_is_the_topic_meant(page: Any, live_server: str, query: str) -> None:
    from playwright.sync_api import expect

    expected = {
        "MAS": "Macrophage activation syndrome",
        "HLH": "Haemophagocytic lymphohistiocytosis",
        "ferritn": "Hyperferritinaemia",
    }[query]
    page.goto(live_server + "/")
    page.locator(BOX).press_sequentially(query, delay=15)
    expect(page.locator(f"{LIST} [role=option]").first).to_contain_text(expected)


def test_the_search_box_and_results_are_axe_clean(
    page: Any, live_server: str, axe_source: str
) -> None:
    from playwright.sync_api import expect

    page.goto(live_server + "/topics/kawasaki-disease/")
    page.locator(BOX).press_sequentially("kawasaki", delay=15)
    expect(page.locator(f"{LIST} [role=option]").first).to_be_visible()
    page.locator(BOX).press("ArrowDown")
    violations = axe(page, axe_source, "document.querySelector('form[data-site-search]')")
    assert not violations, report(violations)
    serious = [v for v in axe(page, axe_source) if v["impact"] in ("serious", "critical")]
    assert not serious, report(serious)
    page.goto(live_server + "/search?q=kawasaki")
    serious = [v for v in axe(page, axe_source) if v["impact"] in ("serious", "critical")]
    assert not serious, report(serious)


def test_without_javascript_the_box_is_a_form(browser: Any, live_server: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server + "/")
        page.locator(BOX).fill("kawasaky")
        page.locator(BOX).press("Enter")
        page.wait_for_url("**/search?q=kawasaky")
        assert page.locator(".search-result__title a").first.inner_text() == "Kawasaki disease"
    finally:
        context.close()
