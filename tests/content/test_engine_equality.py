"""ProperDocs, the maintained continuation of MkDocs 1.x, builds the same site as MkDocs: every
page (the generator meta tag aside), the manifest (the engine record aside) and the search index.

ProperDocs runs from its own environment, .venv-properdocs (`make install-properdocs`, which
`make test` runs), so the mkdocs package of .venv stays the default build's.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, mkdocs_build, require
from synthetic_site import write_synthetic_project

from site_api.content.engine import VERIFIED
from site_api.content.manifest import manifest_path_for
from site_api.content.search_index import search_index_path_for

PROPERDOCS_VENV = ROOT / ".venv-properdocs"
MKDOCS_VENV = ROOT / ".venv"
# The one line the engines may write differently: "mkdocs-1.6.1, …" / "mkdocs-ProperDocs 1.6.7, …".
GENERATOR = re.compile(rb'<meta name="generator" content="[^"]*">')
SYNTHETIC_TOPICS = 40


@pytest.fixture(scope="module")
def properdocs_bin() -> Path:
    """The ProperDocs environment's bin/, with the project installed into it."""
    bindir = PROPERDOCS_VENV / "bin"
    require((bindir / "site-api").is_file(), "the ProperDocs environment (make install-properdocs)")
    return bindir


def _site_api_build(bindir: Path, engine: str, site_link: Path) -> Path:
    """`site-api build` of the real site from `bindir`'s environment; returns the published site."""
    env = {**os.environ, "SITE_BUILD_ENGINE": engine, "SITE_SITE_DIR": str(site_link)}
    result = subprocess.run(
        [str(bindir / "site-api"), "build", "-f", str(ROOT / "mkdocs.yml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "warning:" not in result.stderr  # no version outside what is verified
    built_by = re.search(r"\(built by (\S+) (\S+) with mkdocs-material (\S+)\)", result.stdout)
    assert built_by, result.stdout
    assert built_by[1] == engine
    return site_link.resolve()


def _files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def _rows(index: Path) -> dict[str, tuple[str, list[tuple[object, ...]]]]:
    """Every table of the index (FTS5's own shadow tables too): its schema and rows in stored order."""
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        tables = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
        return {
            name: (sql, db.execute(f'SELECT * FROM "{name}"').fetchall()) for name, sql in tables
        }
    finally:
        db.close()


def assert_same_build(mkdocs_site: Path, properdocs_site: Path) -> None:
    """Every page, the manifest and the search index equal, engine marks aside."""
    ours, theirs = _files(mkdocs_site), _files(properdocs_site)
    assert sorted(ours) == sorted(theirs)
    assert any(name.endswith(".html") for name in ours) and "a-z/index.html" in ours
    generators = set()
    differing = []
    for name, data in ours.items():
        other = theirs[name]
        if name.endswith(".html"):
            generators |= set(GENERATOR.findall(data)) | set(GENERATOR.findall(other))
            data, other = GENERATOR.sub(b"", data), GENERATOR.sub(b"", other)
        if data != other:
            differing.append(name)
    assert differing == [], f"built differently by ProperDocs: {differing[:20]}"
    assert len(generators) == 2, generators  # the tag was there, and it does name each engine

    manifests = [
        json.loads(manifest_path_for(site).read_bytes()) for site in (mkdocs_site, properdocs_site)
    ]
    engines = [manifest.pop("engine") for manifest in manifests]
    assert [e["name"] for e in engines] == ["mkdocs", "properdocs"]
    assert engines[1]["version"] == VERIFIED["properdocs"].removeprefix("==")
    assert engines[0]["theme"] == engines[1]["theme"]
    assert manifests[0] == manifests[1]
    assert len(manifests[0]["pages"]) > 3

    indexes = [search_index_path_for(site) for site in (mkdocs_site, properdocs_site)]
    rows = [_rows(index) for index in indexes]
    assert rows[0].keys() == rows[1].keys() and "search" in rows[0]
    assert [t for t in rows[0] if rows[0][t] != rows[1][t]] == []
    # Equal rows in equal order: so equal files (one SQLite library wrote both).
    assert indexes[0].read_bytes() == indexes[1].read_bytes()


def test_the_real_site_builds_the_same_with_properdocs(
    tmp_path: Path, properdocs_bin: Path
) -> None:
    mkdocs_site = _site_api_build(MKDOCS_VENV / "bin", "mkdocs", tmp_path / "mkdocs" / "site")
    properdocs_site = _site_api_build(properdocs_bin, "properdocs", tmp_path / "pd" / "site")
    assert_same_build(mkdocs_site, properdocs_site)


def test_a_synthetic_catalogue_builds_the_same_with_properdocs(
    tmp_path: Path, properdocs_bin: Path
) -> None:
    config = write_synthetic_project(tmp_path, SYNTHETIC_TOPICS)
    sites = {"mkdocs": tmp_path / "site-mkdocs", "properdocs": tmp_path / "site-properdocs"}
    for engine, python in (("mkdocs", MKDOCS_VENV), ("properdocs", PROPERDOCS_VENV)):
        result = mkdocs_build(config, sites[engine], engine, str(python / "bin" / "python"))  # type: ignore[arg-type]
        assert result.returncode == 0, result.stderr
    topics = list((sites["properdocs"] / "topics").iterdir())
    assert len(topics) == SYNTHETIC_TOPICS
    assert_same_build(sites["mkdocs"], sites["properdocs"])
