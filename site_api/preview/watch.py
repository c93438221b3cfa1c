"""Watch the sources and rebuild: a polling thread (no inotify dependency; 0.25 s is enough)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

POLL_SECONDS = 0.25


def snapshot(paths: list[Path]) -> dict[str, tuple[int, int]]:
    """Every file under `paths` with its modification time and size."""
    seen: dict[str, tuple[int, int]] = {}
    for root in paths:
        files = [root] if root.is_file() else (p for p in root.rglob("*") if p.is_file())
        for path in files:
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # removed while we looked: the next look sees it gone
            seen[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return seen


def watch_and_rebuild(paths: list[Path], rebuild: Callable[[], None]) -> threading.Thread:
    """Call `rebuild` after each change under `paths` (saves in quick succession: one build)."""

    def loop() -> None:
        last = snapshot(paths)
        while True:
            time.sleep(POLL_SECONDS)
            now = snapshot(paths)
            if now != last:
                # Compared next time with what this build read: a save during it builds again.
                last = now
                rebuild()

    thread = threading.Thread(target=loop, name="preview-watch", daemon=True)
    thread.start()
    return thread
