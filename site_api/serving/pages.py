"""Canonical page lookup from the manifest, and the built pages' bytes read from disk on demand.

A worker keeps the manifest (a few hundred bytes a page) and a bounded cache of hot pages, never
every page: the OS page cache, shared by all workers on a host, holds the rest.
"""

from __future__ import annotations

import logging
import posixpath
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from site_api.content.manifest import (
    ManifestError,
    PageEntry,
    ServedManifest,
    load_page_entries,
)
from site_api.serving.meter import page_token

NOT_FOUND_FILE = "404.html"
SHELL_FILE = "shell.html"
#: Where the theme reserves the per-request countdown (see theme/main.html).
METER_SLOT = b"<!--meter-->"
#: Hot pages a worker keeps in memory when no setting says otherwise (SITE_PAGE_CACHE_PAGES).
DEFAULT_CACHE_PAGES = 256

log = logging.getLogger("site_api.serving.pages")


@dataclass(frozen=True, slots=True)
class BuiltPage:
    """A page of the build as the manifest lists it; its bytes are read when it is sent."""

    meta: PageEntry
    token: str  # the page's token in the meter cookie


def split_at_slot(html: bytes, where: str) -> tuple[bytes, bytes]:
    """The bytes before and after the countdown slot; a page without one is a build defect."""
    head, slot, tail = html.partition(METER_SLOT)
    if not slot:
        raise ManifestError(f"{where} has no {METER_SLOT.decode()} slot: rebuild with 'make build'")
    return head, tail


@dataclass(frozen=True)
class Lookup:
    """Where a request path leads: a page (maybe via a redirect to its canonical URL) or nothing."""

    page: BuiltPage | None
    redirect: str | None = None


def canonical_path(raw: str) -> str:
    """Fold the many spellings of one page's URL into one: `/X//./y/index.html` -> `/x/y/`."""
    path = unquote(raw).replace("\\", "/").lower()
    path = posixpath.normpath("/" + path.lstrip("/"))
    if path.endswith("/index.html") or path == "/index.html":
        path = path[: -len("index.html")]
    if not path.endswith("/"):
        path += "/"
    return path


class SiteIndex:
    """The built site's pages by canonical URL (the manifest, read once at start), and their
    bytes through a bounded least-recently-used cache."""

    def __init__(
        self,
        site_dir: Path,
        pages: list[PageEntry],
        cache_pages: int = DEFAULT_CACHE_PAGES,
        csp: tuple[list[str], list[str]] = ([], []),
    ) -> None:
        self.site_dir = site_dir
        self.csp_scripts, self.csp_styles = csp  # the build's inline hashes, for the CSP header
        self.by_url: dict[str, BuiltPage] = {}
        self.by_id: dict[str, BuiltPage] = {}
        for entry in pages:
            page = BuiltPage(entry, page_token(entry.id))
            self.by_url[entry.url] = page
            self.by_id[entry.id] = page
        self.cache_pages = cache_pages
        self._cache: OrderedDict[str, tuple[bytes, bytes]] = OrderedDict()
        self.not_found = split_at_slot(_read(site_dir / NOT_FOUND_FILE), NOT_FOUND_FILE)
        self.shell = _read(site_dir / SHELL_FILE).decode("utf-8")

    @classmethod
    def load(
        cls,
        site_dir: Path,
        cache_pages: int = DEFAULT_CACHE_PAGES,
        loaded: ServedManifest | None = None,
    ) -> SiteIndex:
        """Load the manifest (pages are read later, when sent), or take it as `loaded` already;
        `ManifestError` says what is wrong."""
        loaded = load_page_entries(site_dir) if loaded is None else loaded
        return cls(site_dir, loaded.pages, cache_pages, (loaded.csp_scripts, loaded.csp_styles))

    def lookup(self, raw_path: str) -> Lookup:
        """Find the page for a request path; non-canonical spellings redirect to the canonical."""
        page = self.by_url.get(raw_path)
        if page is not None:
            return Lookup(page)
        page = self.by_url.get(canonical_path(raw_path))
        if page is None:
            return Lookup(None)
        return Lookup(page, redirect=page.meta.url)

    @property
    def cached_pages(self) -> int:
        """How many pages' bytes this worker holds now (at most `cache_pages`)."""
        return len(self._cache)

    def exists(self, page: BuiltPage) -> bool:
        """Whether the page's file is there to send (nginx's door sends it itself); logged if not."""
        if page.meta.file in self._cache or (self.site_dir / page.meta.file).is_file():
            return True
        log.error(
            "page file missing, answering 404: %s, listed in the manifest for %s; "
            "rebuild the site ('make build') or restore the file",
            self.site_dir / page.meta.file,
            page.meta.url,
        )
        return False

    def parts(self, page: BuiltPage) -> tuple[bytes, bytes] | None:
        """The page's bytes before and after the countdown slot, or None when its file is missing
        or broken (logged for the operator; the reader gets the 404 page, never an error).

        Read in the event loop on purpose: a built page is tens of kilobytes, usually in the OS
        page cache, and reading it costs less than handing it to a thread.
        """
        key = page.meta.file
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        path = self.site_dir / key
        try:
            html = path.read_bytes()
        except OSError as exc:
            log.error(
                "page file unreadable, answering 404: %s (%s), listed in the manifest for %s; "
                "rebuild the site ('make build') or restore the file",
                path,
                exc.strerror or exc,
                page.meta.url,
            )
            return None
        head, slot, tail = html.partition(METER_SLOT)
        if not slot:
            log.error(
                "page file has no %s slot, answering 404: %s; rebuild the site ('make build')",
                METER_SLOT.decode(),
                path,
            )
            return None
        if self.cache_pages > 0:
            self._cache[key] = (head, tail)
            if len(self._cache) > self.cache_pages:
                self._cache.popitem(last=False)
        return head, tail


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise ManifestError(f"{path} is missing: rebuild with 'make build'")
    return path.read_bytes()
