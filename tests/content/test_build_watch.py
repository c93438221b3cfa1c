"""`site-api build --watch`: a long-lived publisher that builds again after every save.

It runs each build in its own process with its caches warm (the parse record and the dependency
record kept in memory): each publish must equal a child process's full build, a broken save must
leave the live site as it was and say why, and the fix must publish.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from servers import SITE_API, start, stop
from test_incremental import assert_same, build, edit, make_project

from site_api.content.watch import watch_and_rebuild

#: A generous bound for one small build on a loaded machine (not a speed target: a hang).
WAIT_SECONDS = 120


def wait_for(check: Callable[[], bool], log: Path, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"{what}; the publisher said:\n{log.read_text()}"
        time.sleep(0.1)


def said(log: Path, text: str) -> Callable[[], bool]:
    return lambda: text in log.read_text(encoding="utf-8", errors="replace")


def live_page(root: Path, page_id: str) -> str:
    path = Path(os.path.realpath(root / "site")) / "topics" / page_id / "index.html"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def test_publishes_each_save_equal_to_a_full_build_and_keeps_the_live_site_on_errors(
    tmp_path: Path,
) -> None:
    config = make_project(tmp_path, 8)
    log = tmp_path / "publisher.log"
    env = {**os.environ, "SITE_SITE_DIR": str(tmp_path / "site")}
    # The working directory of the full builds below (the paths in the editorial record).
    proc = start([SITE_API, "build", "--watch", "-f", str(config)], log, env)
    try:
        wait_for(said(log, "watching"), log, "the first build was never published")
        first = os.path.realpath(tmp_path / "site")

        edit(tmp_path, "t003", body=lambda b: b + "\nPublished by the watcher.\n")
        wait_for(lambda: "Published by the watcher." in live_page(tmp_path, "t003"), log, "no edit")
        assert os.path.realpath(tmp_path / "site") != first
        wait_for(said(log, "parsed 1 and rendered"), log, "the save was not built incrementally")
        code, out = build(tmp_path, "full", full=True)
        assert code == 0, out
        assert_same(tmp_path)

        edit(tmp_path, "t004", title="Alpha topic four")
        wait_for(lambda: "Alpha topic four" in live_page(tmp_path, "t004"), log, "no new title")
        live = os.path.realpath(tmp_path / "site")

        edit(tmp_path, "t005", section="no-such-section")
        wait_for(said(log, "not published"), log, "a broken save was not refused")
        text = log.read_text(encoding="utf-8")
        assert "t005.md:" in text and "no-such-section" in text, text
        assert os.path.realpath(tmp_path / "site") == live, "a failed build switched the site"

        edit(tmp_path, "t005", section="haematology", title="Fixed topic five")
        wait_for(lambda: "Fixed topic five" in live_page(tmp_path, "t005"), log, "the fix")
        wait_for(lambda: proc.poll() is None, log, "the publisher stopped")
        code, out = build(tmp_path, "full", full=True)
        assert code == 0, out
        assert_same(tmp_path)
    finally:
        stop(proc)


def test_a_save_made_the_moment_the_watcher_says_it_is_watching_is_seen(tmp_path: Path) -> None:
    """`ready` (the "watching" line) is said only once the watch is in place: a save made in
    that very call is still rebuilt (said when the thread started, such a save was missed)."""
    watched = tmp_path / "content"
    watched.mkdir()
    rebuilt = threading.Event()

    def save() -> None:
        (watched / "topic.md").write_text("saved the moment the watcher was ready\n")

    watch_and_rebuild([watched], rebuilt.set, ready=save)
    assert rebuilt.wait(30), "a save made when the watcher said it was watching was missed"
