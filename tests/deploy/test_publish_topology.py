"""Publishing through the production front door: a new build is live through nginx, no restart."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY, copy_project, require
from editing import finish_draft
from servers import SITE_API, nginx_binary, topology
from visitors import GATED, full_cookie

pytestmark = [pytest.mark.nginx]

TOPIC = f"/topics/{GATED}/"


def site_api(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SITE_SITE_DIR": "site"}
    return subprocess.run(
        [SITE_API, *args], cwd=project, env=env, capture_output=True, text=True, check=False
    )


def until(url: str, text: str, headers: dict[str, str] | None = None) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        response = httpx.get(url, headers=headers or {}, timeout=5)
        if text in response.text or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_an_edit_and_a_build_appear_through_nginx_without_restart(tmp_path: Path) -> None:
    nginx = nginx_binary()
    require(nginx is not None, "nginx (Debian package 'nginx')")
    assert nginx is not None
    project = tmp_path / "project"
    copy_project(project)
    first = site_api(project, "build")
    assert first.returncode == 0, first.stderr
    env = {**os.environ, "SITE_VAR_DIR": str(tmp_path / "var"), "SITE_SECRET_KEY": TEST_KEY}
    site = project / "site"
    with topology(nginx, site, tmp_path, env, workers=2) as front:
        before = httpx.get(front.base + TOPIC)
        assert before.status_code == 200 and "Edited through the front door" not in before.text
        topic = project / "content" / "topics" / f"{GATED}.md"
        topic.write_text(topic.read_text() + "\nEdited through the front door.\n")
        new = site_api(
            project, "new", "Published live", "--author", "gp-reviewer", "--section", "haematology"
        )
        assert new.returncode == 0, new.stderr
        # A draft: built, never served through the front door, nor in its sitemap or feed.
        assert site_api(project, "build").returncode == 0
        until(front.base + TOPIC, "Edited through the front door")
        assert httpx.get(front.base + "/topics/published-live/").status_code == 404
        for listing in ("/sitemap.xml", "/whats-new.xml", "/a-z/p/"):
            shown = httpx.get(front.base + listing)
            assert shown.status_code == 200 and "published-live" not in shown.text, listing
        finish_draft(
            project / "content" / "topics" / "published-live.md",
            "A topic published through the front door, for the test.",
            "Written in our own words before it was published.\n",
        )
        assert site_api(project, "build").returncode == 0
        after = until(front.base + TOPIC, "Edited through the front door")
        assert after.status_code == 200 and "Edited through the front door" in after.text
        assert "You can read" in after.text, "still spliced and metered by the gate"
        assert until(front.base + "/topics/published-live/", "Overview").status_code == 200
        gated = httpx.get(front.base + TOPIC, headers={"cookie": full_cookie()})
        assert gated.status_code == 403 and "Edited through the front door" not in gated.text
        # Assets come through the switched link too.
        assert httpx.get(front.base + "/assets/stylesheets/site.css").status_code == 200


def test_rollback_and_forward_again_through_nginx_without_restart(tmp_path: Path) -> None:
    nginx = nginx_binary()
    require(nginx is not None, "nginx (Debian package 'nginx')")
    assert nginx is not None
    project = tmp_path / "project"
    copy_project(project)
    assert site_api(project, "build").returncode == 0
    topic = project / "content" / "topics" / f"{GATED}.md"
    topic.write_text(topic.read_text() + "\nOnly in the second build.\n")
    assert site_api(project, "build").returncode == 0
    second = os.path.basename(os.path.dirname(os.path.realpath(project / "site")))
    env = {**os.environ, "SITE_VAR_DIR": str(tmp_path / "var"), "SITE_SECRET_KEY": TEST_KEY}
    with topology(nginx, project / "site", tmp_path, env, workers=2) as front:
        assert "Only in the second build" in httpx.get(front.base + TOPIC).text
        rolled = site_api(project, "publish", "--rollback")
        assert rolled.returncode == 0, rolled.stderr
        deadline = time.monotonic() + 30
        while "Only in the second build" in (back := httpx.get(front.base + TOPIC)).text:
            assert time.monotonic() < deadline, "nginx still sends the rolled-back build"
            time.sleep(0.2)
        assert back.status_code == 200 and "You can read" in back.text, "gated and spliced"
        assert httpx.get(front.base + "/assets/stylesheets/site.css").status_code == 200
        forward = site_api(project, "publish", "--to", second)
        assert forward.returncode == 0, forward.stderr
        again = until(front.base + TOPIC, "Only in the second build")
        assert again.status_code == 200 and "Only in the second build" in again.text
