"""The next build directory, prepared while a long-lived builder waits for the next save.

An incremental build at 30,000 topics spent seconds before it rendered anything on work that does
not depend on the edit: a directory and a hard link for every unchanged page (one `mkdir` is
about 90 µs on ext4), and a copy of the 1 GB search index to patch. `site-api build --watch` and
the preview know, once a build is published, that the next build will start from it. So they do
that work then, in a thread, while the editor reads the page: `prepare_in_background` links every
output of the live build into a private directory (`site-cache/next-build/`) and copies its
index beside it.

The next build's hook takes it (`take`) only if it was made from the build that is live when the
build starts, before anything is written: it then removes from it every output it will render or
no longer has (`incremental.reuse`), so a file MkDocs writes is always a new one and the live
build's files, which the prepared ones are links to, are never opened for writing. A build that
cannot take it starts from an empty directory, as a one-shot build always does.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from site_api.content.incremental import link_all, load_deps
from site_api.content.search_index import clone_file, search_index_path_for


@dataclass(frozen=True)
class Prepared:
    """A directory of hard links to every output of the build in `base`, and its index's copy."""

    base: str  # the live build's site directory it was made from
    site_dir: Path
    index: Path
    outputs: frozenset[str]


_lock = threading.Lock()
_ready: Prepared | None = None
_making: threading.Thread | None = None


def _prepare(where: Path, base: Path, outputs: list[str]) -> Prepared | None:
    for leftover in where.parent.glob(f"{where.name}*"):  # of a killed process, or discarded
        shutil.rmtree(leftover, ignore_errors=True)
    site_dir, index = where / "site", where / "site-search.sqlite"
    try:
        linked = link_all(str(base), str(site_dir), outputs)
        clone_file(search_index_path_for(base), index)
    except OSError:
        shutil.rmtree(where, ignore_errors=True)
        return None
    if len(linked) != len(outputs):  # the live build lacks a file its record names: not this
        shutil.rmtree(where, ignore_errors=True)
        return None
    return Prepared(str(base), site_dir, index, frozenset(outputs))


def prepare_in_background(
    where: Path, base: Path, done: Callable[[float], None] | None = None
) -> None:
    """Prepare in `where`, in a thread, the next build from the live one in `base`, then call
    `done` with the seconds it took: nothing to do when that is prepared already, or when `base`
    has no build record."""
    global _making
    wait()
    with _lock:
        if _ready is not None and _ready.base == str(base):
            return
    deps = load_deps(base)
    if deps is None:
        return
    names = list(deps.outputs)

    def run() -> None:
        global _ready
        started = time.monotonic()
        made = _prepare(where, base, names)
        with _lock:
            _ready = made
        if made is not None and done is not None:
            done(time.monotonic() - started)

    _making = threading.Thread(target=run, name="prepare-next-build", daemon=True)
    _making.start()


def wait() -> None:
    """Until the thread preparing a build, if any, has finished."""
    making = _making
    if making is not None:
        making.join()


def take(base: Path, site_dir: Path) -> Prepared | None:
    """Move what is prepared from the build in `base` into the empty `site_dir`; None when
    nothing is (or it was made from another build, which is then removed)."""
    global _ready
    wait()
    with _lock:
        ready, _ready = _ready, None
    if ready is None:
        return None
    if ready.base != str(base) or any(site_dir.iterdir() if site_dir.is_dir() else ()):
        _discard(ready.site_dir.parent)
        return None
    index = base_index_path_for(site_dir)
    try:
        os.replace(ready.index, index)
        os.replace(ready.site_dir, site_dir)  # rename(2): an empty directory is replaced
    except OSError:  # gone from under us (site-cache/ removed): start from nothing
        index.unlink(missing_ok=True)
        _discard(ready.site_dir.parent)
        return None
    return Prepared(ready.base, site_dir, index, ready.outputs)


def _discard(where: Path) -> None:
    """Remove a prepared directory in a thread (thousands of folders: not on the way to a
    publication), moved aside first so that the next one can be made in its place at once."""
    aside = where.with_name(f"{where.name}.discarded.{time.monotonic_ns()}")
    try:
        os.replace(where, aside)
    except FileNotFoundError:
        return  # removed already (its project with it, say)
    threading.Thread(target=shutil.rmtree, args=(aside, True), daemon=True).start()


def base_index_path_for(site_dir: Path) -> Path:
    """Where a taken build's copy of the live index waits beside it, to be patched (or removed
    by a build that writes its index anew)."""
    return site_dir.with_name(site_dir.name + "-search.base")
