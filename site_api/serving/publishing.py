"""Publishing without a restart: build directories, the atomic switch, and the live site holder.

Layout, for the setting `SITE_SITE_DIR=site`:

    site -> site-builds/20261201T031500.123456Z/site      (a symlink, replaced by one rename)
    site-builds/20261201T031500.123456Z/site/              the built HTML and assets
    site-builds/20261201T031500.123456Z/site-manifest.json the manifest (and any other artifact
                                                            of the build, such as a search index)

A build is written into a new directory; only when it has succeeded does `switch()` point the
link at it, with `rename(2)`, so readers see the old build or the new one and never a mixture.
Each server holds a `LiveSite`: at most every `CHECK_SECONDS` it reads the link, and when it has
moved, loads the new build and swaps it in. A request takes one `Build` at its start and uses it to the
end, so in-flight requests finish on the build they began on. nginx serves a page's file from
the path the gate names, which includes the build, for the same reason.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from site_api.content.manifest import ManifestError
from site_api.serving.pages import SiteIndex
from site_api.serving.static import SiteAssets

log = logging.getLogger("site_api.publishing")

#: Builds kept on disk by default (`SITE_KEEP_BUILDS`): rollback targets, and whatever in-flight
#: requests may still read. The live build and the one before it are kept whatever the number.
KEEP_BUILDS = 5
CHECK_SECONDS = 0.25


def builds_root(site_link: Path) -> Path:
    """Where the build directories of `site_link` live: `site-builds/` beside `site`."""
    return site_link.with_name(site_link.name + "-builds")


def build_cache_dir(site_link: Path) -> Path:
    """What builds keep for each other's speed only (compiled templates): `site-cache/`."""
    return site_link.with_name(site_link.name + "-cache")


def new_build_dir(site_link: Path) -> Path:
    """A fresh, empty directory for the next build; MkDocs writes `<it>/<site name>/`."""
    root = builds_root(site_link)
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    path = root / stamp
    path.mkdir()
    return path


def build_site_dir(build_dir: Path, site_link: Path) -> Path:
    """The site directory inside a build directory (its manifest sits beside it)."""
    return build_dir / site_link.name


def switch(site_link: Path, site_dir: Path) -> str:
    """Point `site_link` at a finished build's site in one atomic rename; returns a note.

    A `site_link` that is still a plain directory (from before builds were published this
    way) is removed first: that one switch is not atomic, and the note says so.
    """
    note = ""
    if site_link.is_dir() and not site_link.is_symlink():
        shutil.rmtree(site_link)
        legacy_manifest = site_link.with_name(site_link.name + "-manifest.json")
        legacy_manifest.unlink(missing_ok=True)
        note = f"replaced the plain directory {site_link}/ by a link to the build (once)"
    target = os.path.relpath(site_dir, site_link.parent)
    temporary = site_link.with_name(f".{site_link.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target, target_is_directory=True)
    os.replace(temporary, site_link)  # rename(2): atomic for every reader of the link
    return note


def prune(site_link: Path, keep: int = KEEP_BUILDS) -> list[Path]:
    """Remove old builds, keeping the newest `keep`, the live one and the one just before it
    (after a rollback the live build may be old; its predecessor is the next rollback target);
    returns the removed."""
    root = builds_root(site_link)
    if not root.is_dir():
        return []
    live = Path(os.path.realpath(site_link)).parent
    builds = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)
    spared = {live}
    older = [p for p in builds if p.name < live.name]
    if older:
        spared.add(older[0].resolve())
    removed = []
    for old in builds[keep:]:
        if old.resolve() not in spared:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    return removed


_pruning = threading.Lock()


def prune_in_background(site_link: Path, keep: int = KEEP_BUILDS) -> threading.Thread | None:
    """`prune` in a thread, for a long-lived builder: removing a 30,000-topic build is tens of
    thousands of directories, and its next build need not wait for them. One at a time (None
    when one is running: the next build's prune removes what this one would have)."""
    if not _pruning.acquire(blocking=False):
        return None

    def run() -> None:
        try:
            prune(site_link, keep)
        finally:
            _pruning.release()

    thread = threading.Thread(target=run, name="prune-builds", daemon=True)
    thread.start()
    return thread


def page_prefix(site_link: Path, resolved: Path) -> str:
    """The build part of a page file's path as nginx sees it from the builds root.

    `""` when the site is a plain directory (nginx's page root is then the site itself).
    """
    root = builds_root(site_link).resolve()
    try:
        return "/" + resolved.relative_to(root).as_posix()
    except ValueError:
        return ""


@dataclass(frozen=True)
class Build:
    """One published build, as a request uses it from start to end."""

    site: SiteIndex
    assets: SiteAssets
    path: Path  # the resolved site directory
    page_prefix: str  # prepended to a page's file in X-Page-File (see deploy/nginx.conf)


class LiveSite:
    """The build a server answers with; notices a switched link and swaps (looking at most every
    `check_seconds`)."""

    def __init__(
        self,
        site_link: Path,
        check_seconds: float = CHECK_SECONDS,
        load: Callable[[Path], SiteIndex] = SiteIndex.load,
    ) -> None:
        self.link = site_link
        self.check_seconds = check_seconds
        self._load = load
        self._lock = threading.Lock()
        self._current = self._open(Path(os.path.realpath(site_link)))
        self._seen = self._current.path
        self._checked = time.monotonic()

    def _open(self, resolved: Path) -> Build:
        site = self._load(resolved)
        assets = SiteAssets(directory=resolved, follow_symlink=False)
        return Build(site, assets, resolved, page_prefix(self.link, resolved))

    @property
    def site(self) -> SiteIndex:
        """The current build's page index (for code that needs pages only)."""
        return self.current().site

    def current(self) -> Build:
        """The build to answer this request with; cheap: one realpath every `check_seconds` at
        most. The request that notices a switch loads the new build and is answered with it, so
        no reader gets a build older than the link once a worker has looked."""
        now = time.monotonic()
        if now - self._checked < self.check_seconds:
            return self._current
        if not self._lock.acquire(blocking=False):
            return self._current  # another thread is looking: answer with what is live
        try:
            self._checked = now
            self.refresh()
        finally:
            self._lock.release()
        return self._current

    def refresh(self) -> bool:
        """Look at the link now; swap in the build it names if that is new. True if swapped."""
        resolved = Path(os.path.realpath(self.link))
        if resolved == self._seen:
            return False
        self._seen = resolved  # tried once per switch: a broken build is not reloaded every second
        try:
            build = self._open(resolved)
        except (ManifestError, OSError) as exc:
            log.error(
                "not switching to %s, still serving %s: %s", resolved, self._current.path, exc
            )
            return False
        self._current = build
        log.info("now serving the build in %s", resolved)
        return True
