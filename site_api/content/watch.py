"""Watch the sources and rebuild on the file system's own change events (inotify on Linux).

Polling every file's modification time cost a stat per source each quarter second: at 30,000
topics that is most of a core spent looking. `watchfiles` is told of changes instead, and groups
the writes of one save (or of a `git pull`) into one rebuild.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles import watch

import site_api
from site_api.content.incremental import digest, tree

#: How long a burst of writes is gathered into one rebuild, and how often the watcher looks.
DEBOUNCE_MS = 50
STEP_MS = 25


def watched_paths(config_file: Path, docs_dir: Path) -> list[Path]:
    """What a build reads that an editor changes: the config, the sources and the theme."""
    return [config_file, docs_dir, config_file.parent / "theme"]


def code_digest() -> str:
    """A digest of our code as it is on disk now: a long-lived builder that sees it change stops
    (its imported modules are the old ones) rather than build with a mixture."""
    return digest(tree(Path(site_api.__file__).parent, (".py",)))


def watch_and_rebuild(paths: list[Path], rebuild: Callable[[], None]) -> threading.Thread:
    """Call `rebuild` after each change under `paths` (saves in quick succession: one build;
    a save during a build: one more build after it)."""

    def loop() -> None:
        for _ in watch(*paths, debounce=DEBOUNCE_MS, step=STEP_MS, ignore_permission_denied=True):
            rebuild()

    thread = threading.Thread(target=loop, name="preview-watch", daemon=True)
    thread.start()
    return thread
