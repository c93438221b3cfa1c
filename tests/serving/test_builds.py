"""Kept builds and rollback: what a build records, `site-api builds`, `site-api publish --rollback`
and `--to`, which builds pruning keeps, and that only `site-api build` writes a live build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY, copy_project
from servers import SITE_API, free_port, start, stop, wait_http

from site_api.serving.builds import (
    BUILD_INFO,
    kept_builds,
    live_build,
    read_info,
    record_build,
)
from site_api.serving.publishing import builds_root, new_build_dir, prune, switch

ABOUT = "/about/"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    copy_project(tmp_path)
    yield tmp_path


def site_api(
    project: Path, *args: str, keep: int | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SITE_SITE_DIR": "site"}
    if keep is not None:
        env["SITE_KEEP_BUILDS"] = str(keep)
    return subprocess.run(
        [SITE_API, *args], cwd=project, env=env, capture_output=True, text=True, check=False
    )


def built(project: Path, *args: str, keep: int | None = None) -> str:
    result = site_api(project, "build", *args, keep=keep)
    assert result.returncode == 0, result.stderr
    return Path(os.path.realpath(project / "site")).parent.name


def add_to_about(project: Path, sentence: str) -> None:
    about = project / "content" / "about.md"
    about.write_text(about.read_text() + f"\n{sentence}\n")


def fake_build(link: Path, marker: str) -> Path:
    """A build directory holding a minimal site (enough for listing and pruning)."""
    site = new_build_dir(link) / link.name
    site.mkdir()
    (site / "index.html").write_text(marker)
    return site


def test_a_build_records_time_revision_and_what_changed(tmp_path: Path) -> None:
    docs, link = tmp_path / "content", tmp_path / "site"
    (docs / "topics").mkdir(parents=True)
    for name in ("a", "b", "c"):
        (docs / "topics" / f"{name}.md").write_text(f"topic {name}")
    (docs / "about.md").write_text("about")
    first = fake_build(link, "one")
    info = record_build(first.parent, docs, live_build(link))
    assert info["changed"] is None and info["previous"] is None, "nothing to compare with"
    assert info["revision"] == "", "not a git checkout"
    assert set(info["sources"]) == {"topics/a.md", "topics/b.md", "topics/c.md", "about.md"}
    switch(link, first)

    (docs / "topics" / "a.md").write_text("topic a, edited")
    (docs / "topics" / "b.md").unlink()
    (docs / "topics" / "d.md").write_text("topic d")
    (docs / "about.md").write_text("about, edited")
    os.utime(docs / "topics" / "c.md", ns=(0, 0))  # touched, same bytes: not a change
    second = fake_build(link, "two")
    switch(link, second)  # recorded once published, against the build that was live
    info = record_build(second.parent, docs, first.parent)
    assert info["previous"] == first.parent.name
    assert info["changed"] == {
        "added": ["topics/d.md"],
        "changed": ["about.md", "topics/a.md"],
        "removed": ["topics/b.md"],
    }
    assert json.loads((second.parent / BUILD_INFO).read_text())["changed"] == info["changed"]
    listed = kept_builds(link)
    assert [b.stamp for b in listed] == [second.parent.name, first.parent.name]
    assert [b.live for b in listed] == [True, False]
    assert listed[0].changes is not None
    assert listed[0].changes.topics() == "1 changed, 1 added, 1 removed"
    assert listed[1].changes is None


def test_pruning_keeps_the_newest_the_live_and_the_one_before_it(tmp_path: Path) -> None:
    link = tmp_path / "site"
    sites = [fake_build(link, f"build {n}") for n in range(8)]
    switch(link, sites[2])  # rolled back far
    prune(link, keep=3)
    left = sorted(p.name for p in builds_root(link).iterdir())
    wanted = [sites[n].parent.name for n in (1, 2, 5, 6, 7)]
    assert left == wanted, "the 3 newest, the live build (2) and the one just before it (1)"
    switch(link, sites[7])
    prune(link, keep=2)
    assert sorted(p.name for p in builds_root(link).iterdir()) == wanted[-2:]


def serve(project: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SITE_SITE_DIR": str(project / "site"),
        "SITE_VAR_DIR": str(project / "var"),
        "SITE_DATABASE_URL": "",
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_PUBLIC_URL": base,
        "SITE_LOG_LEVEL": "warning",
    }
    log = project / "serve.log"
    proc = start([SITE_API, "serve", "--port", str(port)], log, env, project)
    wait_http(base + "/healthz", proc, log, timeout=60)
    return base, proc


def wait_for(url: str, text: str, present: bool = True, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        body = httpx.get(url, timeout=5).text
        if (text in body) == present or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_rollback_and_to_switch_a_running_server_without_restart(project: Path) -> None:
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "content"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    revision = subprocess.run(
        [*git, "rev-parse", "--short=12", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    first = built(project)
    add_to_about(project, "The second build's sentence.")
    second = built(project)

    listing = site_api(project, "builds")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:2] == ["build", "built"]
    assert lines[1].startswith(second) and lines[1].endswith("(live)")
    assert f"{revision}+dirty" in lines[1] and "none" in lines[1], "about.md is not a topic"
    assert lines[2].startswith(first) and revision in lines[2] and "dirty" not in lines[2]
    assert "(live)" not in lines[2]

    base, proc = serve(project)
    try:
        assert "The second build's sentence." in httpx.get(base + ABOUT).text
        rolled = site_api(project, "publish", "--rollback")
        assert rolled.returncode == 0, rolled.stderr
        assert f"published {first}" in rolled.stdout and f"(was {second})" in rolled.stdout
        assert "second build's" not in wait_for(base + ABOUT, "second build's", present=False)
        assert Path(os.path.realpath(project / "site")).parent.name == first
        again = site_api(project, "publish", "--rollback")
        assert again.returncode != 0 and "no build older than the live one" in again.stderr
        forward = site_api(project, "publish", "--to", second)
        assert forward.returncode == 0, forward.stderr
        assert "The second build's sentence." in wait_for(base + ABOUT, "second build's")
        # A topic edit shows in the next build's line.
        topic = project / "content" / "topics" / "pancytopenia.md"
        topic.write_text(topic.read_text() + "\nOne more line.\n")
        third = built(project)
        line = site_api(project, "builds").stdout.splitlines()[1]
        assert line.startswith(third) and "1 changed" in line and line.endswith("(live)")
    finally:
        stop(proc)


def test_publish_refuses_what_it_cannot_switch_to(project: Path) -> None:
    nothing = site_api(project, "builds")
    assert nothing.returncode != 0 and "run 'site-api build' first" in nothing.stderr
    only = built(project)
    neither = site_api(project, "publish")
    assert neither.returncode == 2 and "--rollback, or --to BUILD" in neither.stderr
    unknown = site_api(project, "publish", "--to", "20000101T000000.000000Z")
    assert unknown.returncode == 1
    assert "no kept build '20000101T000000.000000Z'" in unknown.stderr and only in unknown.stderr
    assert "already live" in site_api(project, "publish", "--to", only).stderr
    # A kept build whose manifest is damaged is refused before the switch, with the reason.
    add_to_about(project, "Second.")
    second = built(project)
    manifest = builds_root(project / "site") / only / "site-manifest.json"
    manifest.write_text("{not json")
    broken = site_api(project, "publish", "--rollback")
    assert broken.returncode == 1 and "the live site is unchanged" in broken.stderr
    assert Path(os.path.realpath(project / "site")).parent.name == second


def test_site_keep_builds_bounds_what_is_kept(project: Path) -> None:
    stamps = []
    for n in range(4):
        add_to_about(project, f"Build {n}.")
        stamps.append(built(project, keep=2))
    assert sorted(p.name for p in builds_root(project / "site").iterdir()) == stamps[-2:]
    assert read_info(builds_root(project / "site") / stamps[-1])["previous"] == stamps[-2]


def test_a_plain_mkdocs_build_leaves_the_live_site_untouched(project: Path) -> None:
    live = built(project)
    site = project / "site"

    def files() -> dict[Path, tuple[bytes, int]]:
        return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in site.rglob("*") if p.is_file()}

    before = files()
    assert before
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert Path(os.path.realpath(site)).parent.name == live
    assert files() == before, "not one file of the live build written or removed"
    assert (project / "build" / "mkdocs-direct" / "about" / "index.html").is_file()
