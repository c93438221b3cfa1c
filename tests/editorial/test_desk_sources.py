"""The desk reads the build's editorial rows, never a topic's source: no YAML is parsed and no
Markdown file opened during a desk view, and it lists drafts and topics not approved."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, copy_project, mkdocs_build
from fastapi.testclient import TestClient

from site_api.config import Settings
from site_api.content import model, sources
from site_api.content.manifest import load_editorial
from site_api.web.app import create_app

EDITOR = "editor@example.org"
DESK_MODULES = ["site_api/editorial/queue.py", "site_api/web/routes/editorial.py"]
#: What reading sources takes: the desk's modules import none of it.
SOURCE_READERS = {"site_api.content.sources", "site_api.content.model", "yaml"}


def test_the_desk_modules_import_nothing_that_reads_sources() -> None:
    for name in DESK_MODULES:
        tree = ast.parse((ROOT / name).read_text())
        imported = {
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not (imported & SOURCE_READERS), (name, imported & SOURCE_READERS)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """The real content with one draft and one topic overdue for review."""
    copy_project(tmp_path)
    topics = tmp_path / "content" / "topics"
    text = (topics / "pancytopenia.md").read_text()
    draft = (
        text.replace("id: pancytopenia", "id: quokka-fever")
        .replace("title: Pancytopenia", "title: Quokka fever")
        .replace("aliases: [trilineage cytopenia]", "aliases: []\nstatus: draft")
    )
    (topics / "quokka-fever.md").write_text(draft)
    result = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr
    return tmp_path / "site"


def test_a_desk_view_parses_no_source(
    built: Path, tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(migrated_db, tmp_path / "site.db")
    settings = Settings(
        site_dir=built, var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'site.db'}"
    )
    calls: list[str] = []

    def forbidden(name: str) -> Any:
        def called(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"the desk called {name}")

        return called

    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        from site_api.accounts import users
        from site_api.db import make_engine

        users.create_user(
            make_engine(settings.database_url),
            EDITOR,
            "correct horse battery",
            verified=True,
            editor=True,
        )
        page = client.get("/sign-in")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        done = client.post(
            "/sign-in",
            data={"email": EDITOR, "password": "correct horse battery", "csrf_token": token},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        # From here on, parsing a topic (or any YAML) or reading a Markdown file is a failure.
        for target, name in [
            (model, "parse_page"),
            (model, "load_yaml"),
            (model, "split_front_matter"),
            (sources, "topic_sources"),
            (yaml, "load"),
            (yaml, "safe_load"),
            (yaml, "compose"),
        ]:
            monkeypatch.setattr(target, name, forbidden(f"{target.__name__}.{name}"))
        real_read = Path.read_bytes

        def read_bytes(self: Path) -> bytes:
            if self.suffix == ".md":
                calls.append(f"read {self}")
            return real_read(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
        monkeypatch.setattr(
            Path, "read_text", lambda self, *a, **k: forbidden(f"read_text {self}")()
        )
        desk = client.get("/editorial/")
    assert calls == []
    assert desk.status_code == 200, desk.text
    drafts = desk.text.split('id="drafts"', 1)[1]
    assert "Quokka fever" in drafts and "content/topics/quokka-fever.md" in drafts
    # None of the sample topics is approved: the desk says so, with the count.
    count = sum(1 for r in load_editorial(built) if r.status == "published")
    assert f"Published, not approved as they stand ({count})" in drafts
