"""Browsing by letter and section: sorted case- and accent-insensitively, title clashes refused."""

from __future__ import annotations

import posixpath
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from site_api.content.browse import Catalogue, _link, a_to_z_entries, check_a_to_z, fold, letter_of
from site_api.content.model import Section, SourcePage, parse_page

SECTIONS = {
    "haematology": Section(title="Haematology", summary="Blood."),
    "rheumatology": Section(title="Rheumatology", summary="Joints."),
}
TOPIC = """\
---
id: {id}
title: "{title}"
summary: A summary.
authors: [a]
section: {section}
reviewed: {reviewed}
next_review: 2099-01-01
aliases: [{aliases}]
---
Body.
"""


def topic(page_id: str, title: str, aliases: str = "", section: str = "rheumatology") -> SourcePage:
    text = TOPIC.format(
        id=page_id, title=title, section=section, aliases=aliases, reviewed=date(2026, 1, 1)
    )
    parsed = parse_page(f"content/topics/{page_id}.md", f"topics/{page_id}.md", text)
    assert isinstance(parsed, SourcePage), [str(e) for e in parsed]
    return parsed


def test_sorting_ignores_case_and_accents() -> None:
    pages = [
        topic("b", "beta"),
        topic("o", "Ödème", aliases="oedema"),
        topic("a", "Alpha"),
        topic("e", "éclampsia"),
        topic("z", "Zeta", aliases="'zz'"),
    ]
    labels = [e.label for e in a_to_z_entries(pages)]
    assert labels == ["Alpha", "beta", "éclampsia", "Ödème", "oedema", "Zeta", "zz"]
    assert fold("Ödème") == "odeme" and letter_of("éclampsia") == "E"
    assert letter_of("5-HT syndrome") == "#"


def test_each_letter_and_section_has_a_page_listing_only_its_own() -> None:
    pages = [
        topic("mas", "Macrophage activation syndrome", aliases="MAS, cytokine storm"),
        topic("crs", "Cytokine release syndrome", aliases="cytokine storm", section="haematology"),
        topic("five", "5q minus syndrome", section="haematology"),
    ]
    catalogue = Catalogue(pages, SECTIONS)
    generated = {g.src_uri: g.markdown for g in catalogue.generated}
    assert set(generated) == {
        "a-z/index.md",
        "a-z/c.md",
        "a-z/m.md",
        "a-z/0-9.md",
        "sections/index.md",
        "sections/haematology.md",
        "sections/rheumatology.md",
    }
    letter_m = generated["a-z/m.md"]
    assert "- [Macrophage activation syndrome](../topics/mas.md)" in letter_m
    assert (
        '- <span class="az-alias">MAS&nbsp;<span class="az-arrow" aria-hidden="true">→</span>'
        '</span><span class="az-see-word">see</span> [Macrophage activation syndrome]'
        "(../topics/mas.md)"
        "{: .az-see }" in letter_m
    )
    assert "Cytokine" not in letter_m.split("</nav>", 1)[1]
    letter_c = generated["a-z/c.md"]
    # An alias two topics share is listed once for each of them.
    assert letter_c.count('- <span class="az-alias">Cytokine storm&nbsp;') == 2
    haematology = generated["sections/haematology.md"]
    assert haematology.index("5q minus syndrome") < haematology.index("Cytokine release")
    assert "Macrophage" not in haematology
    home = catalogue.home_letters("index.md")
    assert "[M](a-z/m.md)" in home and "[0–9](a-z/0-9.md)" in home
    assert "Macrophage" not in home
    crumbs = [c.title for c in catalogue.topic_crumbs(pages[0])]
    assert crumbs == ["Home", "Rheumatology", "Macrophage activation syndrome"]


def test_titles_that_collide_in_the_a_to_z_name_file_and_line() -> None:
    pages = [
        topic("sle", "Systemic lupus erythematosus"),
        topic("sle2", "systemic lupus érythematosus"),
        topic("lupus", "Lupus", aliases="Systemic Lupus Erythematosus, lupus"),
    ]
    # Blame goes to the topic changed last (here: in the order of the list).
    order = {p.path: n for n, p in enumerate(pages)}

    def newer(a: str, b: str) -> str:
        return a if order[a] > order[b] else b

    found = [str(e) for e in check_a_to_z(pages, newer)]
    assert found == [
        "content/topics/sle2.md:3: title: 'systemic lupus érythematosus' collides in the A–Z "
        "with 'Systemic lupus erythematosus' (content/topics/sle.md): give one a distinct title",
        "content/topics/lupus.md:9: aliases: 'Systemic Lupus Erythematosus' is the title of "
        "another topic (content/topics/sle.md)",
        "content/topics/lupus.md:9: aliases: 'lupus' only repeats the title",
    ]
    # When which is newer cannot be told, each of the two files is named, each naming the other.
    unknown = [str(e) for e in check_a_to_z(pages)]
    assert len(unknown) == 5
    assert "content/topics/sle.md:3: title: 'Systemic lupus erythematosus' collides" in unknown[1]
    assert "is an alias of another topic (content/topics/lupus.md)" in unknown[3]


SEGMENTS = st.lists(
    st.sampled_from(["a-z", "sections", "topics", "x", "b.md", "index.md"]), max_size=3
)


@given(SEGMENTS, SEGMENTS)
def test_generated_links_are_what_relpath_says(
    target_dirs: list[str], from_dirs: list[str]
) -> None:
    """The A–Z pages' fast relative links are posixpath.relpath's, for any two docs paths."""
    target = "/".join([*target_dirs, "page.md"])
    from_uri = "/".join([*from_dirs, "here.md"])
    expected = posixpath.relpath(target, posixpath.dirname(from_uri) or ".")
    assert _link(target, from_uri) == expected
