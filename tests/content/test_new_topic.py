"""`site-api new`: asks for what is missing in a terminal, refuses another topic's title or
alias, and prints the preview address on the configured port."""

from __future__ import annotations

import os
import pty
import subprocess
import time
from pathlib import Path

import pytest
from conftest import copy_project
from servers import SITE_API

TOPICS = "content/topics"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def env(project: Path, **more: str) -> dict[str, str]:
    return {**os.environ, "SITE_SITE_DIR": str(project / "site"), **more}


def run(project: Path, *args: str, **more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SITE_API, "new", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=env(project, **more),
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_without_a_terminal_missing_options_fail_listing_the_keys(project: Path) -> None:
    result = run(project, "Quokka fever")
    assert result.returncode != 0
    assert "missing --author KEY" in result.stderr and "--section KEY" in result.stderr
    assert "gp-reviewer" in result.stderr and "haematology" in result.stderr
    assert not (project / TOPICS / "quokka-fever.md").exists()


def test_in_a_terminal_it_asks_for_authors_and_section(project: Path) -> None:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [SITE_API, "new", "Quokka fever"],
        cwd=project,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env(project),
    )
    os.close(follower)
    shown = b""

    def until(text: bytes) -> None:
        nonlocal shown
        deadline = time.monotonic() + 60
        while text not in shown:
            assert time.monotonic() < deadline, shown
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk

    until(b"Author keys")
    os.write(leader, b"gp-reviewer nobody\n")  # a key that is not one: asked again
    until(b"not a key: nobody")
    os.write(leader, b"gp-reviewer, haematology-editor\n")
    until(b"Section key")
    os.write(leader, b"haematology\n")
    until(b"preview:")
    assert proc.wait(timeout=60) == 0, shown
    os.close(leader)
    text = shown.decode()
    assert "Authors (content/authors.yml): " in text and "rheumatology-editor" in text
    assert "Sections (content/sections.yml): " in text and "rheumatology" in text
    source = (project / TOPICS / "quokka-fever.md").read_text()
    assert "authors: [gp-reviewer, haematology-editor]" in source
    assert "section: haematology" in source and "status: draft" in source


def test_another_topics_title_or_alias_is_refused(project: Path) -> None:
    keys = ("--author", "gp-reviewer", "--section", "haematology")
    alias = run(project, "MAS", *keys)
    assert alias.returncode != 0
    assert (
        "'MAS' is already an alias of 'Macrophage activation syndrome' "
        f"({TOPICS}/macrophage-activation-syndrome.md)" in alias.stderr
    )
    # A topic whose id and file are not its title's slug: only the title tells them apart.
    old = project / TOPICS / "kawasaki-disease.md"
    (project / TOPICS / "kd.md").write_text(
        old.read_text().replace("id: kawasaki-disease", "id: kd")
    )
    old.unlink()
    title = run(project, "KAWASAKI Disease", *keys)
    assert title.returncode != 0 and "is already title of 'Kawasaki disease'" in title.stderr
    assert not (project / TOPICS / "mas.md").exists()


def test_it_prints_the_preview_address_on_the_configured_port(project: Path) -> None:
    made = run(
        project,
        "Quokka fever",
        "--author",
        "gp-reviewer",
        "--section",
        "haematology",
        SITE_PREVIEW_PORT="8655",
    )
    assert made.returncode == 0, made.stderr
    assert "http://127.0.0.1:8655/topics/quokka-fever/" in made.stdout
