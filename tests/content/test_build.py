"""The real build: our content is clean under --strict, the manifest is right, bad topics fail clearly."""

from __future__ import annotations

import json
import posixpath
import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, copy_config, mkdocs_build

from site_api.content.manifest import load_manifest, manifest_path_for

MAS = "topics/macrophage-activation-syndrome/index.html"


def test_manifest_lists_every_page_with_canonical_urls(built_site: Path) -> None:
    manifest = load_manifest(built_site)
    by_id = {p.id: p for p in manifest.pages}
    topics = sorted(p.stem for p in (ROOT / "content" / "topics").glob("*.md"))
    assert len(topics) >= 10
    for slug in topics:
        assert by_id[slug].url == f"/topics/{slug}/"
        assert by_id[slug].access == "metered"
        assert (built_site / by_id[slug].file).is_file()
    assert by_id["home"].url == "/" and by_id["home"].access == "free"
    assert {"about", "terms"} <= by_id.keys()
    assert "MAS" in by_id["macrophage-activation-syndrome"].aliases


def test_manifest_and_sources_are_outside_the_site(built_site: Path) -> None:
    assert manifest_path_for(built_site).parent == built_site.parent
    assert not list(built_site.rglob("*.md"))
    assert not list(built_site.rglob("*manifest*"))
    assert not (built_site / "authors.yml").exists()


def test_mas_page_renders_numbered_citations_in_order_of_first_use(built_site: Path) -> None:
    html = (built_site / MAS).read_text(encoding="utf-8")
    cited = re.findall(r'<a href="#ref-([\w:-]+)" aria-label="Reference (\d+)">', html)
    first_use: dict[str, int] = {}
    for key, number in cited:
        first_use.setdefault(key, int(number))
    assert sorted(first_use.values()) == list(range(1, len(first_use) + 1))
    assert list(first_use.values()) == sorted(first_use.values()), "numbered by first citation"
    listed = re.findall(r'<li id="ref-([\w:-]+)" value="(\d+)">', html)
    assert [(k, int(n)) for k, n in listed] == sorted(first_use.items(), key=lambda kv: kv[1])
    assert (
        "Nigrovic PA. Macrophage activation syndrome. Arthritis Rheumatol. 2025;77:367–379." in html
    )
    assert "Eloseily EM, Cron RQ. Macrophage activation syndrome." in html
    assert "[@" not in html


def test_doi_links_and_topic_anatomy_order(built_site: Path) -> None:
    html = (built_site / "topics/haemophagocytic-lymphohistiocytosis/index.html").read_text()
    assert '<a class="ref-link" href="https://doi.org/10.1002/pbc.21039">' in html
    marks = [
        "This site is intended for healthcare professionals",
        'class="topic-header"',
        "Authoring team:",
        "Last reviewed:",
        'class="topic-body"',
        'id="references"',
        'id="related-topics"',
        'id="clinical-disclaimer"',
        "Clinical Notebook editorial team",
    ]
    positions = [html.index(mark) for mark in marks]
    assert positions == sorted(positions)
    assert "<!--meter-->" in html and "data-notes-slot" in html


def test_search_index_holds_no_metered_body_text(built_site: Path) -> None:
    index = json.loads((built_site / "search" / "search_index.json").read_text())
    manifest = load_manifest(built_site)
    metered = {p.url.lstrip("/"): p for p in manifest.pages if p.access == "metered"}
    docs = {d["location"]: d for d in index["docs"]}
    for location, page in metered.items():
        assert docs[location]["text"] == page.summary
        assert not [loc for loc in docs if loc.startswith(location + "#")]
    assert any(loc.startswith("about/#") for loc in docs), "free pages stay fully searchable"


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A copy of the project's content and config that a test may break."""
    shutil.copytree(ROOT / "content", tmp_path / "content")
    copy_config(tmp_path)
    return tmp_path


def test_broken_topic_fails_build_with_file_line_and_field(content_copy: Path) -> None:
    topic = content_copy / "content" / "topics" / "kawasaki-disease.md"
    text = topic.read_text()
    line = (
        text.splitlines().index(next(x for x in text.splitlines() if x.startswith("reviewed:"))) + 1
    )
    topic.write_text(text.replace("reviewed:", "reviewed: not-a-date\nold_reviewed:", 1))
    result = mkdocs_build(content_copy / "mkdocs.yml", content_copy / "site")
    assert result.returncode != 0
    assert (
        f"content/topics/kawasaki-disease.md:{line}: reviewed: Input should be a valid date"
        in result.stderr
    )
    assert "old_reviewed: unknown field" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_citation_fails_build(content_copy: Path) -> None:
    topic = content_copy / "content" / "topics" / "pancytopenia.md"
    lines = topic.read_text().splitlines()
    lines.append("A new claim [@nobody2020].")
    topic.write_text("\n".join(lines) + "\n")
    result = mkdocs_build(content_copy / "mkdocs.yml", content_copy / "site")
    assert result.returncode != 0
    expected = (
        f"content/topics/pancytopenia.md:{len(lines)}: citation: unknown reference key 'nobody2020'"
    )
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_section_fails_build(content_copy: Path) -> None:
    topic = content_copy / "content" / "topics" / "kawasaki-disease.md"
    lines = topic.read_text().splitlines()
    line = lines.index("section: paediatrics") + 1
    lines[line - 1] = "section: cardiology"
    topic.write_text("\n".join(lines) + "\n")
    result = mkdocs_build(content_copy / "mkdocs.yml", content_copy / "site")
    assert result.returncode != 0
    assert (
        f"content/topics/kawasaki-disease.md:{line}: section: unknown section 'cardiology'"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_titles_colliding_in_the_a_to_z_fail_build(content_copy: Path) -> None:
    clash = content_copy / "content" / "topics" / "kawasaki-later.md"
    text = (content_copy / "content" / "topics" / "kawasaki-disease.md").read_text()
    clash.write_text(
        text.replace("id: kawasaki-disease", "id: kawasaki-later").replace(
            "title: Kawasaki disease", "title: KAWASAKI Disease"
        )
    )
    result = mkdocs_build(content_copy / "mkdocs.yml", content_copy / "site")
    assert result.returncode != 0
    assert (
        "content/topics/kawasaki-later.md:3: title: 'KAWASAKI Disease' collides in the A–Z with "
        "'Kawasaki disease' (content/topics/kawasaki-disease.md)" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_no_page_but_the_browsing_pages_lists_the_topics(built_site: Path) -> None:
    """A topic page links only the topics it names as related; the catalogue is on letter pages."""
    manifest = load_manifest(built_site)
    topic_urls = {p.url for p in manifest.pages if p.url.startswith("/topics/")}
    for entry in manifest.pages:
        html = (built_site / entry.file).read_text(encoding="utf-8")
        linked = {
            "/"
            + posixpath.normpath(posixpath.join(posixpath.dirname("/" + entry.file), h)).lstrip("/")
            + "/"
            for h in re.findall(r'href="([^"#:]*topics/[^"#]*)/"', html)
        }
        linked &= topic_urls
        if entry.url.startswith(("/a-z/", "/sections/")):
            continue
        assert len(linked) <= 5, f"{entry.url} links {len(linked)} topics"
    letters = [p for p in manifest.pages if p.url.startswith("/a-z/") and p.url != "/a-z/"]
    assert len(letters) >= 10
    assert {p.url for p in manifest.pages if p.id.startswith("section-")} == {
        "/sections/haematology/",
        "/sections/investigations/",
        "/sections/paediatrics/",
        "/sections/rheumatology/",
    }
