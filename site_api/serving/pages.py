"""Canonical page lookup from the manifest, and the built pages' bytes held in memory."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from site_api.content.manifest import Manifest, ManifestError, ManifestPage, load_manifest
from site_api.serving.meter import page_token

NOT_FOUND_FILE = "404.html"
SHELL_FILE = "shell.html"
#: Where the theme reserves the per-request countdown (see theme/main.html).
METER_SLOT = b"<!--meter-->"


@dataclass(frozen=True)
class BuiltPage:
    """A page ready to send: its bytes split around the countdown slot, read once."""

    meta: ManifestPage
    head: bytes
    tail: bytes
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
            head, tail = split_at_slot(file.read_bytes(), str(file))
            page = BuiltPage(entry, head, tail, page_token(entry.id))
            self.by_url[entry.url] = page
            self.by_id[entry.id] = page
        self.not_found = split_at_slot(_read(site_dir / NOT_FOUND_FILE), NOT_FOUND_FILE)
        self.shell = _read(site_dir / SHELL_FILE).decode("utf-8")

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


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise ManifestError(f"{path} is missing: rebuild with 'make build'")
    return path.read_bytes()
