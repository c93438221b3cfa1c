"""Keeping topics current: `site-api new`, `site-api review`, overdue line, update history,
What's new and its feed."""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import ROOT, copy_project, mkdocs_build
from test_content import PATH, TODAY, VALID, errors_of, page

from site_api.content.currency import (
    Change,
    atom_feed,
    due_for_review,
    new_topic_text,
    site_changes,
    slug_for,
    whats_new_markdown,
)

SITE_API = str(ROOT / ".venv" / "bin" / "site-api")


def with_changes(block: str) -> str:
    return VALID.replace("section:", f"changes:\n{block}section:", 1)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Still's disease", "stills-disease"),
        ("Sjögren’s syndrome", "sjogrens-syndrome"),
        ("ESR and CRP", "esr-and-crp"),
        ("  Vitamin B12 / folate deficiency  ", "vitamin-b12-folate-deficiency"),
    ],
)
def test_slug_is_stable_from_the_title(title: str, slug: str) -> None:
    assert slug_for(title) == slug


def test_new_topic_text_is_valid_as_written() -> None:
    text = new_topic_text('The "new" topic', ["rheum"], "rheumatology", TODAY, 365)
    parsed = page(text, "content/topics/the-new-topic.md", "topics/the-new-topic.md")
    assert parsed.meta.id == "the-new-topic" and parsed.meta.title == 'The "new" topic'
    assert errors_of(text) == []
    meta = parsed.meta
    assert meta.reviewed == TODAY
    assert meta.next_review == TODAY + timedelta(days=365)


def test_changes_are_validated_with_their_lines() -> None:
    good = with_changes(
        "  - date: 2026-01-10\n    summary: Dosing updated.\n"
        "  - date: 2025-06-01\n    summary: First published.\n"
    )
    assert errors_of(good) == []
    future = with_changes("  - date: 2026-12-24\n    summary: Later.\n")
    assert any(
        e.startswith(f"{PATH}:11: changes: 2026-12-24 is in the future") for e in errors_of(future)
    ), errors_of(future)
    after_review = with_changes("  - date: 2026-02-01\n    summary: After.\n")
    assert any(
        "changes: 2026-02-01 is after reviewed (2026-01-10)" in e for e in errors_of(after_review)
    )
    unordered = with_changes(
        "  - date: 2025-01-01\n    summary: Old.\n  - date: 2025-06-01\n    summary: Newer.\n"
    )
    assert any(
        e.startswith(f"{PATH}:13: changes: 2025-06-01 is newer than the entry above it")
        for e in errors_of(unordered)
    ), errors_of(unordered)
    malformed = with_changes("  - when: 2025-01-01\n    summary: Old.\n  - date: 2025-13-01\n")
    found = errors_of(malformed)
    assert f"{PATH}:11: changes.0.date: missing required field" in found, found
    assert any(e.startswith(f"{PATH}:11: changes.0.when: unknown field") for e in found)
    assert any("changes.1.date" in e and "YYYY-MM-DD" in e for e in found)
    assert any("changes.1.summary: missing required field" in e for e in found)


def test_next_review_before_reviewed_names_its_line() -> None:
    found = errors_of(VALID.replace("next_review: 2028-01-10", "next_review: 2025-01-10"))
    assert found == [f"{PATH}:7: next_review: 2025-01-10 must be after reviewed (2026-01-10)"]


def test_due_for_review_lists_overdue_and_soon_due_soonest_first() -> None:
    def topic(slug: str, due: str) -> object:
        text = VALID.replace("id: x", f"id: {slug}").replace("2028-01-10", due)
        return page(text, f"content/topics/{slug}.md", f"topics/{slug}.md")

    pages = [topic("later", "2027-06-01"), topic("soon", "2026-12-20"), topic("late", "2026-11-01")]
    due = due_for_review(pages, TODAY, 90)  # type: ignore[arg-type]
    assert [(d.path, d.days_overdue) for d in due] == [
        ("content/topics/late.md", 24),
        ("content/topics/soon.md", -25),
    ]
    assert due[0].authors == ["rheum"] and due[0].due == date(2026, 11, 1)


def change(day: int, title: str, summary: str = "Changed.") -> Change:
    slug = slug_for(title)
    return Change(date(2026, 11, day), summary, title, f"/topics/{slug}/", f"topics/{slug}.md")


def test_whats_new_is_newest_first_limited_and_inert() -> None:
    entries = [change(d % 28 + 1, f"Topic {d}") for d in range(80)]
    newest = site_changes(entries)
    assert len(newest) == 50
    assert [c.date for c in newest] == sorted((c.date for c in newest), reverse=True)
    body = whats_new_markdown([change(3, "A", "Dose <b>up</b> [see](x.md)")])
    assert "[A](topics/a.md): Dose \\<b\\>up\\</b\\> \\[see\\](x.md)" in body
    assert "### 3 November 2026" in body


def test_feed_is_valid_atom_with_titles_and_summaries_only() -> None:
    feed = atom_feed([change(3, "A & B", "Dose <changed>")], "http://x.test/", "Site", TODAY)
    root = ET.fromstring(feed)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    (entry,) = root.findall("a:entry", ns)
    assert entry.findtext("a:title", namespaces=ns) == "A & B"
    assert entry.findtext("a:summary", namespaces=ns) == "Dose <changed>"
    assert entry.find("a:link", ns).get("href") == "http://x.test/topics/a-b/"  # type: ignore[union-attr]
    assert entry.find("a:content", ns) is None


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy_project(tmp_path)
    return tmp_path


def run_cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SITE_SITE_DIR": str(project / "site"), "SITE_REVIEW_INTERVAL_DAYS": "400"}
    return subprocess.run(
        [SITE_API, *args], cwd=project, capture_output=True, text=True, env=env, check=False
    )


def test_site_api_new_writes_a_topic_that_builds_and_never_overwrites(project: Path) -> None:
    made = run_cli(
        project,
        "new",
        "Sjögren's syndrome",
        "--author",
        "rheumatology-editor",
        "--section",
        "rheumatology",
    )
    assert made.returncode == 0, made.stderr
    path = project / "content" / "topics" / "sjogrens-syndrome.md"
    assert "created content/topics/sjogrens-syndrome.md" in made.stdout
    assert "http://127.0.0.1:8001/topics/sjogrens-syndrome/" in made.stdout
    text = path.read_text()
    assert f"reviewed: {date.today().isoformat()}" in text
    assert f"next_review: {(date.today() + timedelta(days=400)).isoformat()}" in text
    assert "references:" not in text and "content/references.yml" in text
    path.write_text(text + "\nEdited by hand.\n")
    again = run_cli(
        project,
        "new",
        "Sjogrens syndrome",
        "--author",
        "rheumatology-editor",
        "--section",
        "rheumatology",
    )
    assert again.returncode != 0 and "already exists" in again.stderr
    assert path.read_text().endswith("Edited by hand.\n")
    unknown = run_cli(project, "new", "Other", "--author", "jdoe", "--section", "rheumatology")
    assert unknown.returncode != 0 and "unknown author jdoe" in unknown.stderr
    assert not (project / "content" / "topics" / "other.md").exists()
    result = mkdocs_build(project / "mkdocs.yml", project / "out")
    assert result.returncode == 0, result.stderr
    # A draft until its editor publishes it: built into the preview only.
    assert "status: draft" in path.read_text()
    assert not (project / "out" / "topics" / "sjogrens-syndrome" / "index.html").exists()


def test_site_api_new_refuses_an_id_another_page_has(project: Path) -> None:
    (project / "content" / "topics" / "pancytopenia.md").rename(
        project / "content" / "topics" / "renamed.md"
    )
    result = run_cli(
        project,
        "new",
        "Pancytopenia",
        "--author",
        "haematology-editor",
        "--section",
        "rheumatology",
    )
    assert result.returncode != 0
    assert "content/topics/renamed.md already has the id 'pancytopenia'" in result.stderr


def set_next_review(project: Path, slug: str, reviewed: date, due: date) -> None:
    path = project / "content" / "topics" / f"{slug}.md"
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("reviewed:"):
            line = f"reviewed: {reviewed.isoformat()}"
        elif line.startswith("next_review:"):
            line = f"next_review: {due.isoformat()}"
        elif line.startswith("  - date:"):
            line = f"  - date: {reviewed.isoformat()}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def test_review_lists_due_topics_and_fails_on_overdue_for_ci(project: Path) -> None:
    today = date.today()
    set_next_review(project, "kawasaki-disease", today - timedelta(800), today - timedelta(6))
    set_next_review(project, "pancytopenia", today - timedelta(700), today + timedelta(30))
    listed = run_cli(project, "review", "--within", "90")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{(today - timedelta(6)).isoformat()}  6 days overdue")
    assert "Kawasaki disease" in lines[0] and "content/topics/kawasaki-disease.md" in lines[0]
    assert "Paediatrics section editor (paediatrics-editor)" in lines[0]
    assert "due in 30 days" in lines[1] and "Pancytopenia" in lines[1]
    assert run_cli(project, "review", "--fail-overdue").returncode == 1
    assert run_cli(project, "review", "--within", "0").stdout.count("\n") == 1
    set_next_review(project, "kawasaki-disease", today - timedelta(800), today + timedelta(6))
    assert run_cli(project, "review", "--fail-overdue").returncode == 0


def test_overdue_topic_tells_readers_calmly_and_history_renders(project: Path) -> None:
    today = date.today()
    due = today - timedelta(6)
    set_next_review(project, "pancytopenia", today - timedelta(800), due)
    result = mkdocs_build(project / "mkdocs.yml", project / "out")
    assert result.returncode == 0, result.stderr
    html = (project / "out" / "topics" / "pancytopenia" / "index.html").read_text()
    line = f'Review overdue since <time datetime="{due.isoformat()}">{due.day} {due:%B %Y}</time>'
    assert line in html
    assert html.index("Last reviewed:") < html.index(line) < html.index('class="topic-body"')
    assert (
        "Review overdue"
        not in (project / "out" / "topics" / "kawasaki-disease" / "index.html").read_text()
    )
    assert 'id="update-history"' in html and "First published." in html


def test_whats_new_page_and_feed_are_built_and_linked_from_home(built_site: Path) -> None:
    home = (built_site / "index.html").read_text()
    assert 'href="whats-new/"' in home
    page_html = (built_site / "whats-new" / "index.html").read_text()
    assert 'href="../topics/pancytopenia/"' in page_html and "First published." in page_html
    root = ET.fromstring((built_site / "whats-new.xml").read_bytes())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in root.findall("a:entry", ns)]
    assert "Pancytopenia" in titles


def test_a_malformed_change_fails_the_build_with_its_line(project: Path) -> None:
    path = project / "content" / "topics" / "pancytopenia.md"
    text = path.read_text().replace('    summary: "First published."\n', "", 1)
    path.write_text(text)
    line = text.splitlines().index("  - date: 2026-10-26") + 1
    index = len(re.findall(r"^  - date: ", text.split("  - date: 2026-10-26")[0], re.M))
    result = mkdocs_build(project / "mkdocs.yml", project / "out")
    assert result.returncode != 0
    assert (
        f"content/topics/pancytopenia.md:{line}: changes.{index}.summary: missing required field"
        in result.stderr
    )
