"""The real build: our content is clean under --strict, the manifest is right, bad topics fail clearly."""

from __future__ import annotations

import os
import posixpath
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, copy_project, mkdocs_build

from site_api.calculators.artifact import read_calculators
from site_api.content.manifest import load_manifest, manifest_path_for
from site_api.content.search_index import search_index_path_for

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
    assert not (built_site / "references.yml").exists()


def test_mas_page_renders_numbered_citations_in_order_of_first_use(built_site: Path) -> None:
    html = (built_site / MAS).read_text(encoding="utf-8")
    cited = re.findall(
        r'<a href="#ref-([\w:-]+)"(?: id="cite-([\w:-]+)")? aria-label="Reference (\d+)">', html
    )
    first_use: dict[str, int] = {}
    for key, anchor, number in cited:
        # The first citation of a reference carries the id its back-link returns to; no other.
        assert (anchor == key) == (key not in first_use), key
        first_use.setdefault(key, int(number))
    assert sorted(first_use.values()) == list(range(1, len(first_use) + 1))
    assert list(first_use.values()) == sorted(first_use.values()), "numbered by first citation"
    listed = re.findall(r'<li id="ref-([\w:-]+)" value="(\d+)">', html)
    assert [(k, int(n)) for k, n in listed] == sorted(first_use.items(), key=lambda kv: kv[1])
    assert "Shakoory B, Geerlinks A, Wilejto M, et al. The 2022 EULAR/ACR points" in html
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


def test_no_static_search_index_and_the_server_index_beside_the_site(built_site: Path) -> None:
    assert not (built_site / "search").exists(), "Material's search plugin left the build"
    assert not list(built_site.rglob("search_index.json"))
    index = search_index_path_for(built_site)
    assert index.parent == built_site.parent and index.is_file()
    assert not list(built_site.rglob("*.sqlite"))
    assert not (built_site / "synonyms.yml").exists()


def test_search_index_holds_every_page_with_its_fields(built_site: Path) -> None:
    manifest = load_manifest(built_site)
    db = sqlite3.connect(search_index_path_for(built_site))
    rows = {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT page_id, url, title, aliases, headings, summary, body FROM page"
        )
    }
    # Every built page, and each calculator's page (the server's: tests/calculators/).
    calculators = {f"calculator-{c}" for c in read_calculators(built_site).calculators}
    assert set(rows) == {p.id for p in manifest.pages} | calculators
    url, title, aliases, headings, summary, body = rows["haemophagocytic-lymphohistiocytosis"]
    assert (url, title) == (
        "/topics/haemophagocytic-lymphohistiocytosis/",
        "Haemophagocytic lymphohistiocytosis",
    )
    assert "HLH" in aliases and "Management" in headings
    assert "etoposide" in body and "¶" not in body and "<" not in body
    assert summary.startswith("A syndrome of pathological immune activation")
    # Pages that list other topics' titles or changes would match every query: no body text.
    listings = [p.id for p in manifest.pages if p.url.startswith(("/a-z/", "/sections/"))]
    assert "a-z-m" in listings and "section-haematology" in listings
    for page_id in [*listings, "whats-new"]:
        assert rows[page_id][5] == "", page_id
    # The home page lists letters, not titles: its own text is indexed, its summary too.
    assert "clinical judgement" in rows["home"][5]
    assert "hyperinflammatory" in rows["home"][4]


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A copy of the project's content and config that a test may break."""
    copy_project(tmp_path)
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


def test_one_build_reports_every_error_with_what_to_write(content_copy: Path) -> None:
    """Five mistakes in one topic, and a broken link in another: all in one build's output."""
    topic = content_copy / "content" / "topics" / "kawasaki-disease.md"
    text = topic.read_text()
    text = text.replace("reviewed:", "reviewed: 25/11/2026\nold_reviewed:", 1)
    text = text.replace("summary: ", "summary: " + "x" * 300 + " ", 1)
    text += "\nSee [it](pancytopaenia.md), [that](pancytopenia.md#defintion) [@nigrovic2052].\n"
    topic.write_text(text)
    last = len(text.splitlines())
    unknown = next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith("old_"))
    other = content_copy / "content" / "about.md"
    other.write_text(other.read_text() + "\nRead the [terms](term.md).\n")
    result = mkdocs_build(content_copy / "mkdocs.yml", content_copy / "site")
    assert result.returncode != 0
    out = result.stderr
    kd = "content/topics/kawasaki-disease.md"
    assert re.search(rf"{kd}:\d+: summary: \d+ characters, at most 300 allowed", out)
    assert "write the date as YYYY-MM-DD" in out and "(got '25/11/2026')" in out
    assert f"{kd}:{unknown}: old_reviewed: unknown field" in out
    assert (
        f"{kd}:{last}: link: 'pancytopaenia.md' points to a page that does not exist; "
        "did you mean 'pancytopenia.md'?" in out
    )
    assert f"{kd}:{last}: anchor: 'pancytopenia.md#defintion'" in out
    assert "did you mean '#definition'?" in out
    assert f"{kd}:{last}: citation: unknown reference key 'nigrovic2052'" in out
    assert "content/about.md:" in out and "did you mean '../terms.md'?" not in out
    assert "did you mean 'terms.md'?" in out
    assert "Traceback" not in out


def test_a_broken_link_fails_site_api_build(content_copy: Path) -> None:
    """The command editors run (and `make build`) fails on a broken link: nothing hides it."""
    topic = content_copy / "content" / "topics" / "pancytopenia.md"
    topic.write_text(topic.read_text() + "\nSee [MAS](macrophage-activation.md).\n")
    env = {**os.environ, "SITE_SITE_DIR": str(content_copy / "site")}
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "site-api"), "build"],
        cwd=content_copy,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode != 0
    assert "link: 'macrophage-activation.md' points to a page that does not exist" in result.stderr
    assert "did you mean 'macrophage-activation-syndrome.md'?" in result.stderr
    assert not (content_copy / "site" / "index.html").exists()


def test_make_build_does_not_hide_warnings() -> None:
    """`make build` goes through `site-api build`, which runs MkDocs strict and not quiet."""
    makefile = (ROOT / "Makefile").read_text()
    assert "$(ENGINE_BIN)/site-api build" in makefile  # .venv's, or .venv-properdocs's
    cli = (ROOT / "site_api" / "cli.py").read_text()
    assert '"--strict"' in cli and '"-q"' not in cli


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
        if entry.url.startswith(("/a-z/", "/sections/", "/whats-new/")):
            continue  # browsing pages; What's new lists the last 50 changes, whatever the size
        assert len(linked) <= 5, f"{entry.url} links {len(linked)} topics"
    letters = [p for p in manifest.pages if p.url.startswith("/a-z/") and p.url != "/a-z/"]
    assert len(letters) >= 10
    assert {p.url for p in manifest.pages if p.id.startswith("section-")} == {
        "/sections/haematology/",
        "/sections/investigations/",
        "/sections/paediatrics/",
        "/sections/rheumatology/",
    }
