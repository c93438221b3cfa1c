"""The preview bar under the site's own CSP: styled by a stylesheet (no inline style), showing
the active view and whether the topic on screen is a draft or approved; Chromium sees no CSP
violation and no console error on preview pages."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import copy_project
from servers import SITE_API, free_port, start, stop, wait_http

DRAFT = "/topics/quokka-fever/"
TOPIC = "/topics/pancytopenia/"
CSP_PROBE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile));
"""


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`site-api preview` of the content with one draft; yields its base URL."""
    project = tmp_path_factory.mktemp("preview-bar")
    copy_project(project)
    topics = project / "content" / "topics"
    text = (topics / "pancytopenia.md").read_text()
    (topics / "quokka-fever.md").write_text(
        text.replace("id: pancytopenia", "id: quokka-fever")
        .replace("title: Pancytopenia", "title: Quokka fever")
        .replace("aliases: [trilineage cytopenia]", "aliases: []\nstatus: draft")
    )
    port = free_port()
    log = project / "preview.log"
    env = {**os.environ, "SITE_VAR_DIR": str(project / "var")}
    env.pop("SITE_SECRET_KEY", None)
    proc = start([SITE_API, "preview", "--port", str(port)], log, env, cwd=project)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/_preview/state", proc, log, timeout=60)
        yield base
    finally:
        stop(proc)


def bar_of(html: str) -> str:
    return html.split("data-preview-bar", 1)[1].split("</div>", 1)[0]


def test_the_bar_has_no_inline_style_and_its_stylesheet_is_served(preview: str) -> None:
    html = httpx.get(preview + TOPIC).text
    assert ' style="' not in bar_of(html) and "<style" not in bar_of(html)
    assert '<link rel="stylesheet" href="/_preview/preview.css">' in html
    css = httpx.get(preview + "/_preview/preview.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".preview-bar{" in css.text


def test_the_bar_marks_drafts_and_unapproved_topics(preview: str) -> None:
    draft = httpx.get(preview + DRAFT)
    assert draft.status_code == 200, "the preview builds drafts"
    assert 'data-preview-mark="draft"' in bar_of(draft.text)
    assert "DRAFT: not published" in draft.text
    topic = httpx.get(preview + TOPIC).text
    assert 'data-preview-mark="none"' in bar_of(topic) and "NOT APPROVED" in topic
    assert "data-preview-mark" not in bar_of(httpx.get(preview + "/").text)  # not a topic


@pytest.mark.browser
def test_preview_pages_are_styled_with_no_csp_violation_or_console_error(
    preview: str, page: Any
) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(f"{m.text} at {m.location.get('url')}")
            if m.type == "error" and "status of 40" not in m.text
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(CSP_PROBE)
    for path in ("/", TOPIC, DRAFT, "/a-z/"):
        page.goto(preview + path)
        bar = page.locator("[data-preview-bar]")
        expect(bar).to_contain_text("PREVIEW")
        background = bar.evaluate("e => getComputedStyle(e).backgroundColor")
        assert background == "rgb(74, 20, 140)", (path, background)
        assert page.evaluate("window.__csp") == [], path
    for label in ("anonymous, 2 pages left", "anonymous, past the meter", "signed in"):
        page.goto(preview + TOPIC)
        page.locator("[data-preview-bar]").get_by_role("button", name=label).click()
        bar = page.locator("[data-preview-bar]")
        expect(bar.locator("[data-preview-view]")).to_have_text(f"Viewing as: {label}.")
        current = bar.locator("button[aria-current]")
        expect(current).to_have_text(label)
        weight = current.evaluate("e => getComputedStyle(e).fontWeight")
        assert weight == "700", (label, weight)
        assert page.evaluate("window.__csp") == [], label
    assert errors == []
