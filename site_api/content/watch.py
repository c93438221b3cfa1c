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
#: How long the watcher waits before saying it sees nothing (the first time: it is watching).
READY_MS = 200


def watched_paths(config_file: Path, docs_dir: Path) -> list[Path]:
    """What a build reads that an editor changes: the config, the sources and the theme."""
    return [config_file, docs_dir, config_file.parent / "theme"]


def code_digest() -> str:
    """A digest of our code as it is on disk now: a long-lived builder that sees it change stops
    (its imported modules are the old ones) rather than build with a mixture."""
    return digest(tree(Path(site_api.__file__).parent, (".py",)))


def watch_and_rebuild(
    paths: list[Path], rebuild: Callable[[], None], ready: Callable[[], None] | None = None
) -> threading.Thread:
    """Call `rebuild` after each change under `paths` (saves in quick succession: one build;
    a save during a build: one more build after it); `ready` once the watch is in place.

    `ready` comes from the watcher's first wait ending with nothing seen, so it is never said
    before a save would be seen (a "watching" said when the thread started was, on a busy
    machine, followed by a save the watcher had not yet been told to look for)."""

    def loop() -> None:
        told = ready is None
        for changes in watch(
            *paths,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            rust_timeout=READY_MS,
            yield_on_timeout=True,
            ignore_permission_denied=True,
        ):
            if not changes:
                if not told and ready is not None:
                    ready()
                    told = True
                continue
            rebuild()

    thread = threading.Thread(target=loop, name="preview-watch", daemon=True)
    thread.start()
    return thread
