"""Drafts: built into the preview, listed for the desk, never published; no scaffold published."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from conftest import ROOT, copy_project
from fastapi.testclient import TestClient
from servers import SITE_API

from site_api.config import Settings
from site_api.content.currency import SCAFFOLD_BODY, SCAFFOLD_SUMMARY
from site_api.content.drafts import PREVIEW_ENV
from site_api.content.manifest import (
    EditorialIndex,
    Manifest,
    editorial_path_for,
    load_editorial,
    load_manifest,
    manifest_path_for,
)
from site_api.db import upgrade
from site_api.search.index import EVERY_BODY, SearchIndex
from site_api.web.app import create_app

DRAFT_ID = "quokka-fever"
#: A word only the draft holds: search must never find it in a published build.
WORD = "quokkanosis"
TODAY = date.today().isoformat()


def draft_text(status: str = "draft", summary: str = "", body: str = "") -> str:
    return (
        "---\n"
        f"id: {DRAFT_ID}\n"
        "title: Quokka fever\n"
        f'summary: "{summary or f"An invented illness named {WORD}, for the tests."}"\n'
        "authors: [haematology-editor]\n"
        "section: haematology\n"
        f"reviewed: {TODAY}\n"
        "next_review: 2030-01-01\n"
        "aliases: [Quokka syndrome]\n"
        "changes:\n"
        f"  - date: {TODAY}\n"
        '    summary: "Drafted the quokka topic."\n'
        f"status: {status}\n"
        "---\n"
        "## Overview\n\n"
        + (body or f"{WORD.capitalize()} is a made-up word that only this draft holds.\n")
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy_project(tmp_path)
    (tmp_path / "content" / "topics" / f"{DRAFT_ID}.md").write_text(draft_text())
    # A published topic relates to the draft: its related list must leave the draft out.
    kd = tmp_path / "content" / "topics" / "pancytopenia.md"
    kd.write_text(kd.read_text().replace("related: [", f"related: [{DRAFT_ID}, ", 1))
    return tmp_path


def build(project: Path, preview: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
    """`site-api build` as an editor runs it (the preview's builds set PREVIEW_ENV)."""
    full = {**os.environ, "SITE_SITE_DIR": str(project / "site"), **env}
    full[PREVIEW_ENV] = "1" if preview else "0"
    args = [SITE_API, "build"]
    if preview:
        # What `site-api preview` runs, without its server: the preview build itself.
        args = [
            str(ROOT / ".venv" / "bin" / "python"),
            "-c",
            "from site_api.cli import _build_and_publish; from pathlib import Path; "
            "_build_and_publish('mkdocs.yml', Path('site'), preview=True)",
        ]
    return subprocess.run(args, cwd=project, capture_output=True, text=True, env=full, check=False)


def site_of(project: Path) -> Path:
    return Path(os.path.realpath(project / "site"))


def every_text(site: Path) -> str:
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in site.rglob("*")
        if p.is_file() and p.suffix in (".html", ".xml", ".txt", ".json")
    )


def test_a_draft_never_reaches_the_published_site(project: Path) -> None:
    result = build(project)
    assert result.returncode == 0, result.stderr
    site = site_of(project)
    assert not (site / "topics" / DRAFT_ID).exists()
    # Not in any page (A–Z, section, related, What's new), the sitemap or the feed.
    text = every_text(site)
    assert "Quokka" not in text and WORD not in text and DRAFT_ID not in text
    assert "<loc>" in (site / "sitemap.xml").read_text()
    assert "<entry>" in (site / "whats-new.xml").read_text()
    assert DRAFT_ID not in {p.id for p in load_manifest(site).pages}
    index = SearchIndex.for_site(site)
    try:
        for query in (WORD, "quokka fever", "quokka syndrome"):
            plan = index.plan(query)
            assert plan is not None
            assert DRAFT_ID not in {h.page_id for h in index.search(plan, 50, EVERY_BODY)}
        plan = index.plan("pancytopenia")
        assert plan is not None and index.search(plan, 20, EVERY_BODY)
    finally:
        index.close()
    # The desk still lists it, from the build's editorial rows.
    rows = {r.id: r for r in load_editorial(site)}
    assert rows[DRAFT_ID].status == "draft"
    assert rows[DRAFT_ID].path == f"content/topics/{DRAFT_ID}.md"
    assert rows["pancytopenia"].status == "published"
    # The rows are built without validating them again: what is written must validate as is.
    written = editorial_path_for(site).read_text(encoding="utf-8")
    assert EditorialIndex.model_validate_json(written).model_dump_json() == written
    written = manifest_path_for(site).read_text(encoding="utf-8")
    assert Manifest.model_validate_json(written).model_dump_json(indent=1) == written


def test_a_draft_is_not_served_by_the_embedded_server(project: Path, tmp_path: Path) -> None:
    assert build(project).returncode == 0
    (tmp_path / "var").mkdir()
    upgrade(f"sqlite:///{tmp_path / 'var' / 'site.db'}")
    settings = Settings(site_dir=project / "site", var_dir=tmp_path / "var")
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        assert client.get(f"/topics/{DRAFT_ID}/").status_code == 404
        assert client.get("/topics/pancytopenia/").status_code == 200
        found = client.get("/search", params={"q": WORD})
        assert found.status_code == 200 and "Quokka" not in found.text
        assert client.get("/search", params={"q": "pancytopenia"}).text.count("Pancytopenia")


def test_the_preview_builds_drafts_everywhere(project: Path) -> None:
    result = build(project, preview=True)
    assert result.returncode == 0, result.stderr
    site = site_of(project)
    assert WORD.capitalize() in (site / "topics" / DRAFT_ID / "index.html").read_text()
    assert "Quokka fever" in (site / "a-z" / "q" / "index.html").read_text()
    assert "Quokka fever" in (site / "topics" / "pancytopenia" / "index.html").read_text()
    assert DRAFT_ID in {p.id for p in load_manifest(site).pages}


def test_status_is_checked_and_a_published_scaffold_is_refused(project: Path) -> None:
    topic = project / "content" / "topics" / f"{DRAFT_ID}.md"
    topic.write_text(draft_text("published", SCAFFOLD_SUMMARY, "Intro.\n\n" + SCAFFOLD_BODY))
    lines = topic.read_text().splitlines()
    summary_line = next(i for i, x in enumerate(lines, 1) if x.startswith("summary:"))
    body_line = next(i for i, x in enumerate(lines, 1) if x.startswith("Write the topic here"))
    other = project / "content" / "topics" / "stills-disease.md"
    other.write_text(other.read_text().replace("section:", "status: finished\nsection:", 1))
    result = build(project)
    assert result.returncode != 0
    err = result.stderr
    path = f"content/topics/{DRAFT_ID}.md"
    assert f"{path}:{summary_line}: summary: still the placeholder of site-api new" in err
    assert f"{path}:{body_line}: body: still holds the placeholder text of site-api new" in err
    assert re.search(r"content/topics/stills-disease\.md:\d+: status: Input should be 'draft'", err)
    assert "the live site is unchanged" in err
    # As a draft, the same scaffold builds (the preview shows it).
    topic.write_text(draft_text("draft", SCAFFOLD_SUMMARY, SCAFFOLD_BODY))
    other.write_text(other.read_text().replace("status: finished\n", ""))
    assert build(project).returncode == 0


def test_a_published_page_may_not_link_to_a_draft(project: Path) -> None:
    topic = project / "content" / "topics" / "pancytopenia.md"
    topic.write_text(topic.read_text() + f"\nSee [quokka fever]({DRAFT_ID}.md).\n")
    last = len(topic.read_text().splitlines())
    result = build(project)
    assert result.returncode != 0
    assert (
        f"content/topics/pancytopenia.md:{last}: link: '{DRAFT_ID}.md' points to a draft"
        in result.stderr
    )
    assert build(project, preview=True).returncode == 0  # the preview builds the draft too
