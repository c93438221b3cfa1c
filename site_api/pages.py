"""Canonical page lookup from the manifest, and the built pages' bytes held in memory."""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from site_api.content import Manifest, ManifestPage
from site_api.manifest import ManifestError, load_manifest

NOT_FOUND_FILE = "404.html"


@dataclass(frozen=True)
class BuiltPage:
    """A page ready to send: what the manifest says of it, its bytes and validator."""

    meta: ManifestPage
    body: bytes
    etag: str


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
    """The built site's pages by canonical URL, read once at start."""

    def __init__(self, site_dir: Path, manifest: Manifest) -> None:
        self.site_dir = site_dir
        self.manifest = manifest
        self.by_url: dict[str, BuiltPage] = {}
        self.by_id: dict[str, BuiltPage] = {}
        for entry in manifest.pages:
            file = site_dir / entry.file
            if not file.is_file():
                raise ManifestError(
                    f"{file} is listed in the manifest but missing: rebuild with 'make build'"
                )
            page = _built(entry, file.read_bytes())
            self.by_url[entry.url] = page
            self.by_id[entry.id] = page
        not_found = site_dir / NOT_FOUND_FILE
        self.not_found = not_found.read_bytes() if not_found.is_file() else b"Not found"

    @classmethod
    def load(cls, site_dir: Path) -> SiteIndex:
        """Load the manifest and every page it lists; `ManifestError` says what is wrong."""
        return cls(site_dir, load_manifest(site_dir))

    def lookup(self, raw_path: str) -> Lookup:
        """Find the page for a request path; non-canonical spellings redirect to the canonical."""
        page = self.by_url.get(raw_path)
        if page is not None:
            return Lookup(page)
        page = self.by_url.get(canonical_path(raw_path))
        if page is None:
            return Lookup(None)
        return Lookup(page, redirect=page.meta.url)


def _built(entry: ManifestPage, body: bytes) -> BuiltPage:
    return BuiltPage(entry, body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')
