"""The built site in a real Chromium: topic anatomy, the A–Z, print styles and accessibility."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import inject_axe

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
    """The home page links each letter; the letter pages together list every topic and alias,
    each linking to its topic; a topic's breadcrumbs lead to its section's page."""
    from playwright.sync_api import expect

    page.goto(live_server + "/")
    topics = {p.stem for p in (ROOT / "content" / "topics").glob("*.md")}
    assert len(topics) == 10
    paths = "links => links.map(a => new URL(a.href).pathname)"
    letters = page.locator("article nav.az-jump a").evaluate_all(paths)
    assert len(letters) >= 10 and all(re.fullmatch(r"/a-z/[a-z]/", h) for h in letters), letters
    assert not page.locator("article a[href*='topics/']").count(), "the home page lists no topic"
    sections = page.locator("article li a[href*='sections/']").evaluate_all(paths)
    assert "/sections/rheumatology/" in sections

    listed: set[str] = set()
    for letter in letters:
        page.goto(live_server + letter)
        hrefs = page.locator("article > ul > li a").evaluate_all(paths)
        listed |= {h.removeprefix("/topics/").strip("/") for h in hrefs}
        labels = page.locator("article > ul > li").all_inner_texts()
        folded = [label.split("→")[0].strip().casefold() for label in labels]
        assert folded == sorted(folded), f"{letter} is not in A–Z order: {labels}"
        assert all(label[:1].upper() == letter[-2].upper() for label in labels), labels
    assert listed == topics

    page.goto(live_server + "/")
    page.locator("article nav.az-jump").get_by_role("link", name="M", exact=True).click()
    expect(page).to_have_url(live_server + "/a-z/m/")
    alias = page.locator("article li", has_text=re.compile(r"^MAS\s*→"))
    expect(alias.get_by_role("link")).to_have_attribute("href", re.compile(r"macrophage"))
    # A cross-reference on one line, set apart from the topics (italic label, an arrow).
    assert alias.evaluate("e => e.getBoundingClientRect().height") < 40
    assert alias.locator(".az-alias").evaluate("e => getComputedStyle(e).fontStyle") == "italic"
    alias.get_by_role("link").click()
    expect(page).to_have_url(live_server + MAS)

    page.go_back()
    entry = page.locator(
        "article li", has_text=re.compile(r"^\s*Macrophage activation syndrome\s*$")
    )
    entry.get_by_role("link").click()
    expect(page).to_have_url(live_server + MAS)
    expect(page.locator("article h1")).to_have_text("Macrophage activation syndrome")

    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs.locator("li")).to_have_text(
        ["Home", "Rheumatology", "Macrophage activation syndrome"]
    )
    crumbs.get_by_role("link", name="Rheumatology").click()
    expect(page).to_have_url(live_server + "/sections/rheumatology/")
    expect(page.locator("article li a", has_text="Macrophage activation syndrome")).to_be_visible()
    expect(page.locator("article li a", has_text="Kawasaki disease")).to_have_count(0)


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
    inject_axe(page, axe_source)
    violations = page.evaluate("async () => (await axe.run()).violations")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in serious
    )
    assert not serious, f"axe found on {path}:\n{report}"
