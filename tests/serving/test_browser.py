"""The built site in a real Chromium: topic anatomy, the A–Z, print styles and accessibility."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
MAS = "/topics/macrophage-activation-syndrome/"


def y(locator: Any) -> float:
    """The top of an element on the page, for comparing their order."""
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not rendered"
    return box["y"]


def test_mas_page_anatomy(page: Any, live_server: str) -> None:
    """A topic shows notice, header, body, references, related topics, disclaimer and footer."""
    from playwright.sync_api import expect

    page.goto(live_server + MAS)
    expect(page.get_by_text("This site is intended for healthcare professionals")).to_be_visible()
    article = page.locator("article")
    expect(article.locator("h1")).to_have_text("Macrophage activation syndrome")

    # The authoring details sit on one line until opened.
    article.locator(".topic-meta > summary").click()
    authors = article.locator(".topic-authors")
    reviewed = article.locator(".topic-reviewed")
    expect(authors).to_contain_text("Authoring team")
    expect(reviewed).to_contain_text("Last reviewed")
    expect(reviewed.locator("time[datetime]").first).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d{2}-\d{2}$")
    )
    body = article.locator(".topic-body")
    references = article.locator(".topic-references")
    related = article.locator(".topic-related")
    disclaimer = article.locator(".clinical-disclaimer")
    order = [article.locator("h1"), authors, reviewed, body, references, related, disclaimer]
    tops = [y(part) for part in order]
    assert tops == sorted(tops), f"topic parts out of order: {tops}"

    items = references.locator("ol.reference-list > li")
    count = items.count()
    assert count >= 2
    numbers = [items.nth(i).evaluate("li => li.value") for i in range(count)]
    assert numbers == list(range(1, count + 1))
    expect(references).to_contain_text("Arthritis Rheumatol")

    citation = body.locator("sup.citation a").first
    box = citation.bounding_box()
    assert box is not None and box["width"] >= 24 and box["height"] >= 24, box  # a tap target
    number = int(citation.inner_text())
    key = citation.get_attribute("href").removeprefix("#")
    assert key.startswith("ref-")
    citation.click()
    expect(page).to_have_url(re.compile(f"#{key}$"))
    target = references.locator(f"ol.reference-list > li#{key}")
    expect(target).to_be_in_viewport()
    assert target.evaluate("li => li.value") == number
    back = target.locator(".ref-back")
    back_box = back.bounding_box()
    assert back_box is not None and back_box["width"] >= 24 and back_box["height"] >= 24
    back.click()
    expect(page).to_have_url(re.compile(f"#cite-{key.removeprefix('ref-')}$"))
    expect(citation).to_be_in_viewport()

    expect(disclaimer).to_contain_text("clinical judgement")
    copyright = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["copyright"]
    expect(page.locator("footer")).to_contain_text(copyright)

    related.get_by_role("link", name="Still's disease").click()
    expect(page.locator("article h1")).to_have_text("Still's disease")


def test_home_page_a_to_z(page: Any, live_server: str) -> None:
    """The home page lists every topic A–Z, aliases included, each linking to its topic."""
    from playwright.sync_api import expect

    page.goto(live_server + "/")
    topics = {p.stem for p in (ROOT / "content" / "topics").glob("*.md")}
    assert len(topics) == 10
    hrefs = page.locator("article li a").evaluate_all(
        "links => links.map(a => new URL(a.href).pathname)"
    )
    assert {h.removeprefix("/topics/").strip("/") for h in hrefs} == topics

    alias = page.locator("article li", has_text=re.compile(r"^MAS: see"))
    expect(alias.get_by_role("link")).to_have_attribute("href", re.compile(r"macrophage"))
    alias.get_by_role("link").click()
    expect(page).to_have_url(live_server + MAS)

    page.go_back()
    entry = page.locator(
        "article li", has_text=re.compile(r"^\s*Macrophage activation syndrome\s*$")
    )
    entry.get_by_role("link").click()
    expect(page).to_have_url(live_server + MAS)
    expect(page.locator("article h1")).to_have_text("Macrophage activation syndrome")


def test_print_stylesheet(page: Any, live_server: str) -> None:
    """Printed, a topic drops the header and navigation but keeps references and disclaimer."""
    from playwright.sync_api import expect

    page.goto(live_server + MAS)
    page.emulate_media(media="print")
    expect(page.locator(".md-header")).to_be_hidden()
    expect(page.locator(".md-sidebar--primary")).to_be_hidden()
    expect(page.locator(".reference-list")).to_be_visible()
    expect(page.locator(".clinical-disclaimer")).to_be_visible()


@pytest.mark.parametrize(
    "path",
    ["/", MAS, "/sign-in", "/create-account", "/forgot-password"],
    ids=["home", "mas", "sign-in", "create-account", "forgot-password"],
)
def test_no_serious_accessibility_violations(
    page: Any, live_server: str, axe_source: str, path: str
) -> None:
    """axe-core finds nothing serious or critical on the page."""
    page.goto(live_server + path)
    page.add_script_tag(content=axe_source)
    violations = page.evaluate("async () => (await axe.run()).violations")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in serious
    )
    assert not serious, f"axe found on {path}:\n{report}"
