"""The content model: every validation rule names file, line and field; citations render in order."""

from __future__ import annotations

from datetime import date

import markdown
import pytest

from site_api.content.citations import CitationExtension
from site_api.content.model import (
    Author,
    Section,
    SourcePage,
    check_site,
    load_authors,
    load_sections,
    parse_page,
)
from site_api.content.references import LibraryEntry, cited_entries

TODAY = date(2026, 11, 25)
AUTHORS = {"rheum": Author(name="Rheumatology editor", role="Author", profession="Rheumatology")}
SECTIONS = {"rheumatology": Section(title="Rheumatology", summary="Joints and connective tissue.")}
PATH = "content/topics/x.md"

VALID = """\
---
id: x
title: Example topic
summary: A short summary.
authors: [rheum]
reviewed: 2026-01-10
next_review: 2028-01-10
aliases: [EX]
related: []
section: rheumatology
---
## Overview

A claim [@second]. Another claim [@first; @second].

```
[@notacitation] inside code is left alone
```
"""


def page(text: str = VALID, path: str = PATH, uri: str = "topics/x.md") -> SourcePage:
    parsed = parse_page(path, uri, text)
    assert isinstance(parsed, SourcePage), [str(e) for e in parsed]
    return parsed


def errors_of(text: str, uri: str = "topics/x.md") -> list[str]:
    parsed = parse_page(PATH, uri, text)
    if isinstance(parsed, list):
        return [str(e) for e in parsed]
    return [str(e) for e in check_site([parsed], AUTHORS, TODAY, SECTIONS)]


def test_valid_topic_parses_with_defaults() -> None:
    parsed = page()
    assert parsed.meta.access == "metered"
    assert parsed.is_topic
    assert errors_of(VALID) == []


def test_pages_outside_topics_are_free_and_need_no_authors() -> None:
    text = "---\nid: about\ntitle: About\nsummary: About us.\n---\nBody\n"
    parsed = page(text, "content/about.md", "about.md")
    assert parsed.meta.access == "free"
    assert not parsed.is_topic


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("title: Example topic\n", "", f"{PATH}:2: title: missing required field"),
        (
            "summary: A short summary.\n",
            "summary: ''\n",
            f"{PATH}:4: summary: String should have at least 1 character",
        ),
        (
            "reviewed: 2026-01-10",
            "reviewed: last tuesday",
            f"{PATH}:6: reviewed: Input should be a valid date",
        ),
        (
            "reviewed: 2026-01-10",
            "reviewed: 2026-13-40",  # looks like a date, is none: YAML itself would raise
            f"{PATH}:6: reviewed: Input should be a valid date",
        ),
        (
            "next_review: 2028-01-10",
            "next_review: 2028-02-30",
            f"{PATH}:7: next_review: Input should be a valid date",
        ),
        ("id: x\n", "id: Not An Id\n", f"{PATH}:2: id: String should match pattern"),
        (
            "aliases: [EX]\n",
            "aliases: [EX]\nreviewd: 2026-01-01\n",
            f"{PATH}:9: reviewd: unknown field",
        ),
        (
            "related: []\n",
            "related: []\naccess: secret\n",
            f"{PATH}:10: access: Input should be 'metered' or 'free'",
        ),
        (
            "related: []\n",
            'related: []\nreferences:\n  - key: first\n    citation: "First A. A paper."\n',
            f"{PATH}:11: references: a topic no longer lists its references: move each entry "
            "to content/references.yml",
        ),
        (
            "next_review: 2028-01-10",
            "next_review: 2025-01-10",
            f"{PATH}:7: next_review: 2025-01-10 must be after reviewed (2026-01-10)",
        ),
        ("authors: [rheum]", "authors: []", f"{PATH}:5: authors: List should have at least 1 item"),
        ("aliases: [EX]", "aliases: [EX, EX]", f"{PATH}:8: aliases: 'EX' is listed twice"),
    ],
)
def test_field_errors_name_file_line_and_field(old: str, new: str, expected: str) -> None:
    text = VALID.replace(old, new, 1)
    assert text != VALID
    found = errors_of(text)
    assert any(e.startswith(expected) for e in found), found


def test_missing_front_matter() -> None:
    assert errors_of("# Just a heading\n") == [
        f"{PATH}:1: front matter: missing (the file must start with '---')"
    ]


def test_invalid_yaml_names_the_line() -> None:
    found = errors_of(VALID.replace("aliases: [EX]", "aliases: [EX"))
    assert len(found) == 1 and found[0].startswith(f"{PATH}:9: front matter: invalid YAML"), found


def test_unknown_author() -> None:
    found = errors_of(VALID.replace("authors: [rheum]", "authors:\n  - rheum\n  - jdoe"))
    assert found == [f"{PATH}:7: authors: unknown author 'jdoe'; add them to content/authors.yml"]


def test_reviewed_in_the_future() -> None:
    found = errors_of(VALID.replace("reviewed: 2026-01-10", "reviewed: 2027-01-10"))
    assert found == [f"{PATH}:6: reviewed: 2027-01-10 is in the future"]


def test_duplicate_page_id_and_unknown_related() -> None:
    other_text = VALID.replace("related: []", "related: [x, nowhere]")
    first, second = page(), page(other_text, "content/topics/y.md", "topics/y.md")
    found = [str(e) for e in check_site([first, second], AUTHORS, TODAY, SECTIONS)]
    duplicate = "content/topics/y.md:2: id: duplicate page id 'x' (also in content/topics/x.md)"
    assert any(e.startswith(duplicate) for e in found)
    assert "content/topics/y.md:9: related: unknown page id 'nowhere'" in found


def test_authors_file_errors_name_the_line() -> None:
    found = load_authors(
        "content/authors.yml",
        "a:\n  name: A\n  role: R\n  profession: P\nb:\n  name: B\n  role: R\n",
    )
    assert [str(e) for e in found] == [
        "content/authors.yml:6: b.profession: missing required field"
    ]  # type: ignore[union-attr]


def test_references_numbered_by_first_citation_and_rendered_as_links() -> None:
    parsed = page()
    entry = LibraryEntry(authors=["First A"], title="A paper", journal="J Test", year=2001)
    ordered = cited_entries(parsed, {"first": entry, "second": entry, "unused": entry})
    assert [(n, key) for n, key, _ in ordered] == [(1, "second"), (2, "first")]
    numbers = {key: n for n, key, _ in ordered}
    html = markdown.markdown(parsed.body, extensions=[CitationExtension(numbers)])
    assert (
        'A claim <sup class="citation">[<a href="#ref-second" id="cite-second" '
        'aria-label="Reference 1">1</a>]</sup>.' in html
    )
    # The first citation of each reference carries the id its back-link returns to; later ones not.
    assert (
        '[<a href="#ref-first" id="cite-first" aria-label="Reference 2">2</a>, '
        '<a href="#ref-second" aria-label="Reference 1">1</a>]' in html
    )
    assert "[@notacitation] inside code is left alone" in html


def test_first_citation_id_follows_reading_order_across_lists_and_paragraphs() -> None:
    """Python-Markdown fills a paragraph before the list items above it; the id must not follow."""
    body = "Intro.\n\n- listed [@a; @b]\n\nLater [@b] and [@a].\n"
    html = markdown.markdown(body, extensions=[CitationExtension({"a": 1, "b": 2})])
    assert html.count('id="cite-a"') == html.count('id="cite-b"') == 1
    listed, later = html.split("Later")
    assert 'id="cite-a"' in listed and 'id="cite-b"' in listed
    assert "cite-" not in later


def test_unknown_section_names_file_line_and_field() -> None:
    found = errors_of(VALID.replace("section: rheumatology", "section: cardiology"))
    assert found == [f"{PATH}:10: section: unknown section 'cardiology' (known: rheumatology)"]


def test_a_topic_needs_a_section() -> None:
    found = errors_of(VALID.replace("section: rheumatology\n", ""))
    assert found == [f"{PATH}:2: section: missing required field"]


def test_sections_file_errors_name_the_line() -> None:
    found = load_sections("content/sections.yml", "a:\n  title: A\n  summary: S\nb:\n  title: B\n")
    assert [str(e) for e in found] == ["content/sections.yml:5: b.summary: missing required field"]  # type: ignore[union-attr]
