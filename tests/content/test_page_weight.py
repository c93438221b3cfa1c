"""A topic's page weight does not depend on the size of the catalogue: a structural size check."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_site import build_synthetic_site

SMALL, LARGE = 50, 500
#: A topic's page is its own body plus a frame (header, notice, sidebar, footer) of bounded size.
FRAME_LIMIT = 40 * 1024
#: The same topic in a ten times larger catalogue may differ by no more than this.
GROWTH_LIMIT = 2 * 1024
BODY_START = '<div class="topic-body">'
BODY_ENDS = (
    '<section class="topic-references"',
    '<nav class="topic-related"',
    '<aside class="clinical-disclaimer"',
)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The synthetic site built at two catalogue sizes."""
    return {
        n: build_synthetic_site(tmp_path_factory.mktemp(f"weight{n}"), n) for n in (SMALL, LARGE)
    }


def rendered_body(html: str) -> str:
    """The topic's rendered Markdown, as the theme places it in the page."""
    start = html.index(BODY_START) + len(BODY_START)
    end = min(i for i in (html.find(mark, start) for mark in BODY_ENDS) if i >= 0)
    return html[start:end]


def test_same_topic_weighs_the_same_in_a_ten_times_larger_catalogue(
    sites: dict[int, Path],
) -> None:
    for page in ("topics/t001/index.html", "topics/t050/index.html", "index.html"):
        small = (sites[SMALL] / page).stat().st_size
        large = (sites[LARGE] / page).stat().st_size
        assert abs(large - small) < GROWTH_LIMIT, (
            f"{page}: {small} B at {SMALL}, {large} B at {LARGE}"
        )


@pytest.mark.parametrize("topics", [SMALL, LARGE])
def test_topic_page_is_its_body_plus_a_bounded_frame(sites: dict[int, Path], topics: int) -> None:
    html = (sites[topics] / "topics/t001/index.html").read_text(encoding="utf-8")
    body = rendered_body(html)
    assert "Generated text for topic 1." in body
    frame = len(html.encode()) - len(body.encode())
    assert frame <= FRAME_LIMIT, f"frame of {frame} B around a {len(body)} B body"


def test_real_topics_are_their_body_plus_a_bounded_frame(built_site: Path) -> None:
    for page in sorted((built_site / "topics").glob("*/index.html")):
        html = page.read_text(encoding="utf-8")
        frame = len(html.encode()) - len(rendered_body(html).encode())
        assert frame <= FRAME_LIMIT, f"{page.parent.name}: frame of {frame} B"


def test_home_page_links_letters_not_topics(sites: dict[int, Path]) -> None:
    """At 500 topics the home page still carries only the letters and the sections."""
    home = (sites[LARGE] / "index.html").read_text(encoding="utf-8")
    assert "topics/t001/" not in home
    assert 'href="a-z/s/"' in home
