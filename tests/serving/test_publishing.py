"""Publishing without a restart: atomic switch, swap in running servers, failed builds, races."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, TEST_KEY, copy_build, copy_project
from editing import finish_draft
from servers import SITE_API, free_port, start, stop, wait_http

from site_api.content.manifest import manifest_path_for
from site_api.serving import publishing
from site_api.serving.publishing import (
    LiveSite,
    builds_root,
    new_build_dir,
    page_prefix,
    prune,
    prune_in_background,
    switch,
)

ABOUT = "/about/"
MARK = "Clinical Notebook"  # a phrase every page has; replaced to mark a build


def make_build(site_link: Path, built_site: Path, marker: str) -> Path:
    """A copy of the session's build as a new build directory, its About page marked."""
    build_dir = new_build_dir(site_link)
    site = build_dir / site_link.name
    copy_build(built_site, site)
    about = site / "about" / "index.html"
    about.write_text(about.read_text().replace("<h1", f"<p>{marker}</p><h1", 1))
    return site


def test_switch_is_one_rename_and_prune_keeps_two(tmp_path: Path, built_site: Path) -> None:
    link = tmp_path / "site"
    sites = [make_build(link, built_site, f"BUILD-{n}") for n in range(4)]
    switch(link, sites[0])
    assert link.is_symlink() and link.resolve() == sites[0].resolve()
    assert not os.readlink(link).startswith("/"), "relative: the project may move"
    switch(link, sites[3])
    assert link.resolve() == sites[3].resolve()
    removed = prune(link, keep=2)
    left = sorted(p.name for p in builds_root(link).iterdir())
    assert left == sorted(s.parent.name for s in sites[2:])
    assert len(removed) == 2
    assert page_prefix(link, link.resolve()) == f"/{sites[3].parent.name}/site"
    assert page_prefix(link, built_site) == ""


def test_a_plain_site_directory_becomes_the_link(tmp_path: Path, built_site: Path) -> None:
    link = tmp_path / "site"
    shutil.copytree(built_site, link)
    (tmp_path / "site-manifest.json").write_text("{}")
    site = make_build(link, built_site, "NEW")
    assert "plain directory" in switch(link, site)
    assert link.is_symlink() and not (tmp_path / "site-manifest.json").exists()


def test_live_site_swaps_and_a_request_keeps_its_build(tmp_path: Path, built_site: Path) -> None:
    link = tmp_path / "site"
    first = make_build(link, built_site, "BUILD-A")
    switch(link, first)
    live = LiveSite(link, check_seconds=3600)
    before = live.current()
    assert b"BUILD-A" in b"".join(before.site.parts(before.site.by_url[ABOUT]) or ())
    switch(link, make_build(link, built_site, "BUILD-B"))
    assert live.current() is before, "no more than one look a second (here: an hour)"
    assert live.refresh()
    now = live.current()
    assert now is not before
    assert b"BUILD-B" in b"".join(now.site.parts(now.site.by_url[ABOUT]) or ())
    # The request that began on the first build still has all of it.
    assert b"BUILD-A" in b"".join(before.site.parts(before.site.by_url[ABOUT]) or ())
    assert now.page_prefix.endswith("/site") and now.page_prefix != before.page_prefix


def test_a_broken_build_is_not_swapped_in(tmp_path: Path, built_site: Path) -> None:
    link = tmp_path / "site"
    switch(link, make_build(link, built_site, "GOOD"))
    live = LiveSite(link, check_seconds=0)
    good = live.current()
    broken = make_build(link, built_site, "BROKEN")
    manifest_path_for(broken).write_text("{not json")
    switch(link, broken)
    assert not live.refresh()
    assert live.current() is good


def serve(
    site_link: Path, tmp: Path, cwd: Path | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    var = tmp / "var"
    env = {
        **os.environ,
        "SITE_SITE_DIR": str(site_link),
        "SITE_VAR_DIR": str(var),
        "SITE_DATABASE_URL": "",
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_PUBLIC_URL": base,
        "SITE_LOG_LEVEL": "warning",
    }
    log = tmp / "serve.log"
    proc = start([SITE_API, "serve", "--port", str(port), "--workers", "2"], log, env, cwd)
    wait_http(base + "/healthz", proc, log, timeout=30)
    return base, proc


def test_requests_during_swaps_get_no_error_and_no_mixed_build(
    tmp_path: Path, built_site: Path
) -> None:
    """Two workers, the link flipped between two builds while eight clients read."""
    link = tmp_path / "site"
    sites = [make_build(link, built_site, f"BUILD-{n}") for n in "AB"]
    switch(link, sites[0])
    base, proc = serve(link, tmp_path)
    results: list[tuple[int, bytes]] = []
    stop_at = time.monotonic() + 5
    seen_links: set[str] = set()

    def read() -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            while time.monotonic() < stop_at:
                response = client.get(ABOUT)
                results.append((response.status_code, response.content))
                asset = client.get("/assets/stylesheets/site.css")
                results.append((asset.status_code, b"BUILD-A BUILD-B" if asset.is_success else b""))

    try:
        readers = [threading.Thread(target=read) for _ in range(8)]
        for thread in readers:
            thread.start()
        flips = 0
        while time.monotonic() < stop_at:
            switch(link, sites[flips % 2])
            seen_links.add(os.readlink(link))
            flips += 1
            time.sleep(random.uniform(0.05, 0.4))  # no fixed phase against the 1 s look
        for thread in readers:
            thread.join()
        switch(link, sites[1])
        time.sleep(1.5)
        with httpx.Client(base_url=base, timeout=10) as client:  # both workers, by now on B
            last = [client.get(ABOUT).text for _ in range(6)]
    finally:
        stop(proc)
    assert len(seen_links) == 2 and len(results) > 100
    statuses = {status for status, _ in results}
    assert statuses == {200}, statuses
    pages = [body for status, body in results if b"BUILD-A BUILD-B" not in body]
    both = [b for b in pages if (b"BUILD-A" in b) == (b"BUILD-B" in b)]
    assert not both, "every page is from exactly one build"
    assert any(b"BUILD-A" in b for b in pages)
    assert all("BUILD-B" in text and "BUILD-A" not in text for text in last)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    copy_project(tmp_path)
    yield tmp_path


def site_api(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SITE_SITE_DIR": "site"}
    return subprocess.run(
        [SITE_API, *args], cwd=project, env=env, capture_output=True, text=True, check=False
    )


def wait_for(url: str, text: str, present: bool = True, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(url, timeout=5)
        if (text in response.text) == present or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_edit_and_build_appear_in_a_running_server_and_a_failed_build_changes_nothing(
    project: Path,
) -> None:
    built = site_api(project, "build")
    assert built.returncode == 0, built.stderr
    base, proc = serve(project / "site", project, cwd=project)
    try:
        assert httpx.get(base + "/topics/new-topic-x/").status_code == 404
        about = project / "content" / "about.md"
        about.write_text(about.read_text() + "\nA sentence added while the server ran.\n")
        made = site_api(
            project, "new", "New topic X", "--author", "gp-reviewer", "--section", "haematology"
        )
        assert made.returncode == 0, made.stderr
        assert site_api(project, "build").returncode == 0
        assert "A sentence added while" in wait_for(base + ABOUT, "A sentence added while").text
        # `new` starts a draft: built, but never published until the editor says so.
        assert httpx.get(base + "/topics/new-topic-x/").status_code == 404
        finish_draft(
            project / "content" / "topics" / "new-topic-x.md",
            "What topic X covers, for the clinician on call.",
            "Topic X, in a first sentence of our own.\n",
        )
        assert site_api(project, "build").returncode == 0
        assert wait_for(base + "/topics/new-topic-x/", "Overview").status_code == 200
        live = os.readlink(project / "site")
        builds = sorted(p.name for p in builds_root(project / "site").iterdir())

        about.write_text(about.read_text().replace("A sentence added", "A [broken](nowhere.md)"))
        failed = site_api(project, "build")
        assert failed.returncode != 0
        assert "link: 'nowhere.md' points to a page that does not exist" in failed.stderr
        assert "the live site is unchanged" in failed.stderr
        assert os.readlink(project / "site") == live
        assert sorted(p.name for p in builds_root(project / "site").iterdir()) == builds
        time.sleep(1.5)  # longer than a worker's look at the link
        assert "A sentence added while" in httpx.get(base + ABOUT).text
    finally:
        stop(proc)


def test_serve_refuses_a_port_already_taken(live_server: str, tmp_path: Path) -> None:
    port = live_server.rsplit(":", 1)[1]
    result = subprocess.run(
        [SITE_API, "serve", "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "SITE_SITE_DIR": str(ROOT / "site"), "SITE_VAR_DIR": str(tmp_path)},
        check=False,
    )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "another 'site-api serve'" in result.stderr


def test_a_long_lived_builder_prunes_in_the_background_one_at_a_time(
    tmp_path: Path, built_site: Path
) -> None:
    link = tmp_path / "site"
    sites = [make_build(link, built_site, f"BUILD-{n}") for n in range(4)]
    switch(link, sites[3])
    with publishing._pruning:  # a prune under way: another is not started beside it
        assert prune_in_background(link, keep=2) is None
    assert len(list(builds_root(link).iterdir())) == 4
    thread = prune_in_background(link, keep=2)
    assert thread is not None
    thread.join(30)
    left = sorted(p.name for p in builds_root(link).iterdir())
    assert left == sorted(s.parent.name for s in sites[2:])
