"""Every content error in one build, each printed once, no navigation noise; a clash blames the
topic changed last (by git), or names both files when that cannot be told."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import copy_project
from servers import SITE_API

TOPICS = "content/topics"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def build(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SITE_SITE_DIR": str(project / "site")}
    return subprocess.run(
        [SITE_API, "build"], cwd=project, capture_output=True, text=True, env=env, check=False
    )


def git(project: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Editor",
        "GIT_AUTHOR_EMAIL": "editor@example.org",
        "GIT_COMMITTER_NAME": "Editor",
        "GIT_COMMITTER_EMAIL": "editor@example.org",
    }
    subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True, env=env)


def line_of(path: Path, prefix: str) -> int:
    return next(n for n, x in enumerate(path.read_text().splitlines(), 1) if x.startswith(prefix))


def test_a_successful_build_prints_no_navigation_noise(project: Path) -> None:
    result = build(project)
    assert result.returncode == 0, result.stderr
    assert "not included in the" not in result.stderr + result.stdout
    assert result.stderr.count("\n") <= 4, result.stderr


def test_the_editors_five_mistakes_in_one_build_each_once(project: Path) -> None:
    """The issue's walk: missing summary, a British date, an unknown section, a bad related id
    and a title clash, all in one topic: every one in the first build, each printed once."""
    topic = project / TOPICS / "kawasaki-disease.md"
    text = topic.read_text()
    lines = [x for x in text.splitlines(keepends=True) if not x.startswith("summary:")]
    text = "".join(lines)
    text = text.replace("\nreviewed: ", "\nreviewed: 25/11/2026\nwas_reviewed: ", 1)
    text = text.replace("section: paediatrics", "section: cardio")
    text = text.replace("related: [", "related: [no-such-topic, ", 1)
    text = text.replace("title: Kawasaki disease", "title: Pancytopenia")
    topic.write_text(text)
    result = build(project)
    assert result.returncode != 0
    err = result.stderr
    kd = f"{TOPICS}/kawasaki-disease.md"
    expected = [
        f"{kd}:2: summary: missing required field",  # the front matter's first line
        f"{kd}:{line_of(topic, 'reviewed:')}: reviewed: ",
        f"{kd}:{line_of(topic, 'section:')}: section: unknown section 'cardio'",
        f"{kd}:{line_of(topic, 'related:')}: related: unknown page id 'no-such-topic'",
        f"{kd}:{line_of(topic, 'title:')}: title: 'Pancytopenia' collides in the A–Z",
    ]
    for start in expected:
        assert sum(1 for x in err.splitlines() if x.startswith(start)) == 1, (start, err)
    # Every error line once, none of them doubled by MkDocs' own output.
    errors = [x for x in err.splitlines() if x.startswith("content/")]
    assert len(errors) == len(set(errors))
    assert "content error(s)" in err and "the live site is unchanged" in err
    # Placeholders never show: no error about the stand-ins for the failed fields.
    assert "\\x00" not in err and "x-salvaged" not in err
    assert not (project / "site").exists()


def test_a_clash_blames_the_topic_changed_last_by_git(project: Path) -> None:
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "content")
    new = project / TOPICS / "mas.md"
    source = (project / TOPICS / "pancytopenia.md").read_text()
    new.write_text(
        source.replace("id: pancytopenia", "id: mas")
        .replace("title: Pancytopenia", "title: MAS")
        .replace("aliases: [trilineage cytopenia]", "aliases: []")
    )
    result = build(project)
    assert result.returncode != 0
    err = result.stderr
    assert (
        f"{TOPICS}/mas.md:3: title: 'MAS' is an alias of another topic "
        f"({TOPICS}/macrophage-activation-syndrome.md)" in err
    )
    assert f"{TOPICS}/macrophage-activation-syndrome.md:" not in err
    # Committed, then the older topic edited: now that one is the newer, and is blamed.
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "mas")
    older = project / TOPICS / "macrophage-activation-syndrome.md"
    older.write_text(older.read_text() + "\nEdited later.\n")
    err = build(project).stderr
    assert (
        f"{TOPICS}/macrophage-activation-syndrome.md:9: aliases: 'MAS' is the title of another "
        f"topic ({TOPICS}/mas.md)" in err
    )
    assert f"{TOPICS}/mas.md:" not in err


def test_a_clash_outside_git_names_both_files(project: Path) -> None:
    clash = project / TOPICS / "a-kawasaki.md"
    source = (project / TOPICS / "kawasaki-disease.md").read_text()
    clash.write_text(source.replace("id: kawasaki-disease", "id: a-kawasaki"))
    err = build(project).stderr
    for path, other in (("a-kawasaki", "kawasaki-disease"), ("kawasaki-disease", "a-kawasaki")):
        assert (
            f"{TOPICS}/{path}.md:3: title: 'Kawasaki disease' collides in the A–Z with "
            f"'Kawasaki disease' ({TOPICS}/{other}.md)" in err
        )


def test_html_nested_too_deep_to_index_fails_the_build_naming_the_topic(project: Path) -> None:
    """Raw HTML the search index's parser cannot read whole is the editor's error, with the file
    and line, not a topic indexed without its text."""
    topic = project / TOPICS / "kawasaki-disease.md"
    body_line = topic.read_text().split("\n---\n", 1)[0].count("\n") + 3
    topic.write_text(topic.read_text() + "\n" + "<div>" * 3000 + "x" + "</div>" * 3000 + "\n")
    result = build(project)
    assert result.returncode == 1
    assert (
        f"{TOPICS}/kawasaki-disease.md:{body_line}: its HTML could not be read for the search "
        "index (Excessive depth in document: 2048): simplify the HTML written into this topic"
    ) in result.stderr
    assert result.stderr.count("Excessive depth") == 1
