"""`site-api preview`: the bar, the gate and a signed-in note on demand, reload on save (Chromium)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, copy_project
from servers import SITE_API, free_port, start, stop, wait_http

TOPIC = "/topics/pancytopenia/"


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`site-api preview` on a copy of the project; yields its base URL and the copy."""
    project = tmp_path_factory.mktemp("preview")
    copy_project(project)
    port = free_port()
    log = project / "preview.log"
    env = {**os.environ, "SITE_VAR_DIR": str(project / "var"), "SITE_SECRET_KEY": ""}
    env.pop("SITE_SECRET_KEY")
    proc = start([SITE_API, "preview", "--port", str(port)], log, env, cwd=project)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/_preview/state", proc, log, timeout=60)
        yield base, project
    finally:
        stop(proc)


def test_preview_refuses_production(tmp_path: Path) -> None:
    env = {**os.environ, "SITE_ENV": "production", "SITE_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [SITE_API, "preview", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "never runs with SITE_ENV=production" in result.stderr


def test_the_bar_is_on_every_page_and_only_in_the_preview(preview: tuple[str, Path]) -> None:
    base, _ = preview
    html = httpx.get(base + TOPIC).text
    assert html.count("data-preview-bar") == 1
    assert "PREVIEW" in html and "anonymous, past the meter" in html
    assert "data-preview-bar" not in (ROOT / "theme" / "main.html").read_text()


def test_the_running_preview_refuses_other_hosts_and_get_switches(
    preview: tuple[str, Path],
) -> None:
    base, _ = preview
    port = base.rsplit(":", 1)[1]
    assert httpx.get(base + TOPIC, headers={"host": f"localhost:{port}"}).status_code == 200
    rebound = httpx.get(base + TOPIC, headers={"host": f"rebound.example:{port}"})
    assert rebound.status_code == 400 and "data-preview-bar" not in rebound.text
    switch = httpx.get(base + "/_preview/as/signed-in?next=/")
    assert switch.status_code == 405 and "set-cookie" not in switch.headers


@pytest.mark.browser
def test_countdown_gate_and_signed_in_note_on_demand_then_reload_on_save(
    preview: tuple[str, Path], page: Any
) -> None:
    from playwright.sync_api import expect

    base, project = preview
    page.goto(base + TOPIC)
    bar = page.locator("[data-preview-bar]")
    expect(bar).to_contain_text("PREVIEW")

    bar.get_by_role("button", name="anonymous, 2 pages left").click()
    expect(page.locator(".meter-countdown")).to_contain_text("You can read 2 more topics")
    expect(page.locator(".topic-body")).to_be_visible()

    page.locator("[data-preview-bar]").get_by_role(
        "button", name="anonymous, past the meter"
    ).click()
    expect(page.locator("body")).to_contain_text("Sign in to keep reading")
    expect(page.locator(".topic-body")).to_have_count(0)

    page.locator("[data-preview-bar]").get_by_role("button", name="signed in").click()
    notes = page.locator("section.page-notes")
    expect(notes.get_by_role("button", name="Add a note")).to_be_visible()
    notes.get_by_role("button", name="Add a note").click()
    notes.get_by_role("textbox", name="Your note").fill("Preview note: check local FBC ranges.")
    notes.get_by_role("button", name="Save note").click()
    expect(notes.get_by_role("status")).to_have_text("Note saved.")
    page.reload()
    expect(page.locator(".page-notes__text")).to_have_text("Preview note: check local FBC ranges.")

    # Save an edit: the open tab reloads by itself and shows it.
    topic = project / "content" / "topics" / "pancytopenia.md"
    saved = time.monotonic()
    topic.write_text(topic.read_text() + "\nA sentence the editor just saved.\n")
    expect(page.locator(".topic-body")).to_contain_text(
        "A sentence the editor just saved.", timeout=60_000
    )
    print(f"edit to visible: {time.monotonic() - saved:.1f} s")  # measured in bench/, not here
    expect(page.locator(".page-notes__text")).to_have_text("Preview note: check local FBC ranges.")

    # A broken save: the bar says so; the page stays on the last good build.
    topic.write_text(topic.read_text() + "\nSee [it](nowhere.md).\n")
    expect(page.locator("[data-preview-status]")).to_contain_text(
        "link: 'nowhere.md' points to a page that does not exist", timeout=60_000
    )
    expect(page.locator(".topic-body")).to_contain_text("A sentence the editor just saved.")
