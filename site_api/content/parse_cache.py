"""What one build learnt from each source, kept for the next: the validated page and its links.

Validating front matter (YAML with line numbers, then the model) and finding a page's links are
pure functions of the source's text, its path and our code. A build records both for every page
beside its manifest (`<site>-parsed.pickle`); the next incremental build takes them back for every
source whose digest is unchanged and parses only the rest. The record is only ever read from the
live build that `site-api build` itself wrote, and is ignored when our code or the libraries that
parse change (the stamp), so it can never answer for a source it did not see.

Pages taken from the record carry no YAML tree: a cross-page error found with them is reported
after parsing every page again, so each error still names its line.
"""

from __future__ import annotations

import functools
import os
import pickle
import time
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

import site_api
from site_api.content.citations import Citation
from site_api.content.incremental import build_code, digest, kept_digest, write_record
from site_api.content.links import PageLinks
from site_api.content.model import SourcePage

CACHE_VERSION = 1
#: The record this process wrote last, by the site directory it was written beside: a long-lived
#: process (the preview, `site-api build --watch`) takes it back from memory, not from disk.
_written: tuple[str, dict[str, tuple[SourcePage, PageLinks]]] | None = None
#: Per source file this process's builds read: its (mtime, size, inode) then, its text's digest
#: and the markers in it. A long-lived builder (`site-api build --watch`, the preview) takes
#: these back for a file whose stat is unchanged instead of reading it: at 30,000 topics,
#: reading every source was two seconds of each publish. Replaced whole by each build.
_read: dict[str, tuple[tuple[int, int, int], str, list[str]]] = {}
#: A file changed this recently before it was read is never taken back: a second write in the
#: same clock tick may leave its time unchanged (git's "racily clean" rule).
RACY_NS = 2_000_000_000
#: Libraries whose behaviour a parsed page depends on, besides our own code.
PARSERS = ("pyyaml", "pydantic", "pydantic-core", "markdown")


def cache_path_for(site_dir: Path) -> Path:
    """The record sits beside the site directory, like the manifest and the dependencies."""
    return site_dir.with_name(site_dir.name + "-parsed.pickle")


@functools.cache
def code_stamp() -> str:
    """A digest of our code and the parsing libraries' versions: a change voids every record."""
    versions: dict[str, str | None] = {}
    for name in PARSERS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return digest([CACHE_VERSION, build_code(Path(site_api.__file__).parent), versions])


def source_key(path: str, src_uri: str, text_digest: str) -> str:
    """What a parsed page is a function of: where it is shown, where it lives, what it says."""
    return kept_digest((path, src_uri, text_digest))


@dataclass
class ParseCache:
    """Parsed pages by `source_key`: those of the live build, and those of this one."""

    previous: dict[str, tuple[SourcePage, PageLinks]] = field(default_factory=dict)
    current: dict[str, tuple[SourcePage, PageLinks]] = field(default_factory=dict)
    hits: int = 0

    @classmethod
    def load(cls, live_site: Path | None) -> ParseCache:
        """The live build's record, if it has one written by this code; else an empty cache."""
        if live_site is None:
            return cls()
        written = _written
        if written is not None and written[0] == str(live_site) and live_site.is_dir():
            return cls(previous=written[1])  # this process wrote the live build's record
        try:
            with cache_path_for(live_site).open("rb") as source:
                stamp, entries = pickle.load(source)  # noqa: S301 (our own build's file)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError, AttributeError):
            return cls()
        return cls(previous=entries) if stamp == code_stamp() else cls()

    def get(self, key: str) -> tuple[SourcePage, PageLinks] | None:
        """The page and links recorded for this source, or None; kept for the next record."""
        found = self.previous.get(key)
        if found is not None:
            self.hits += 1
            self.current[key] = found
        return found

    def put(self, key: str, page: SourcePage, links: PageLinks) -> None:
        """Record a freshly parsed page (without its front matter's text and its body, which
        it no longer needs)."""
        self.current[key] = (
            replace(page, node=None, body="", front="", citations=first_citations(page.citations)),
            links,
        )


def first_citations(citations: list[Citation]) -> list[Citation]:
    """Each cited key once, where it is first cited, in that order: all a later build needs of a
    page that built cleanly (which keys, in what order, the first line). A topic cites a work
    many times; at 30,000 topics every citation kept was millions of objects to read back. An
    error found with recorded pages has every page parsed again, so it still names each line."""
    seen: set[str] = set()
    kept: list[Citation] = []
    for citation in citations:
        new = [key for key in citation.keys if key not in seen]
        if new:
            seen.update(new)
            kept.append(Citation(keys=new, line=citation.line))
    return kept


def write_cache(site_dir: Path, cache: ParseCache) -> None:
    """Write the record beside the site directory, and keep it in this process's memory.

    The pages kept are the record's own copies (`put`), which no later step of a build changes:
    the next build in this process can take them as they are."""
    global _written
    path = cache_path_for(site_dir)
    path.parent.mkdir(parents=True, exist_ok=True)  # written before MkDocs makes the site dir
    kept = dict(cache.current)
    write_record(path, lambda: pickle.dumps((code_stamp(), kept), protocol=pickle.HIGHEST_PROTOCOL))
    _written = (str(site_dir), kept)


@dataclass
class SourceReads:
    """One build's reads of its sources: what earlier builds in this process recorded of each
    file whose stat is unchanged, and what this build records (`finish` keeps it)."""

    seen: dict[str, tuple[tuple[int, int, int], str, list[str]]] = field(default_factory=dict)

    def known(self, path: str) -> tuple[str, list[str]] | None:
        """(digest, markers) of the file as last read, if its stat is unchanged since."""
        if not _read:  # the first build in this process (a one-shot build's only one)
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        found = _read.get(path)
        if found is None or found[0] != stamp:
            return None
        self.seen[path] = found
        return found[1], found[2]

    def before_read(self, path: str) -> tuple[tuple[int, int, int], int] | None:
        """The file's stat, and the time, taken just before reading it (for `record`)."""
        try:
            st = os.stat(path)
        except OSError:
            return None  # the read itself reports what is wrong
        return (st.st_mtime_ns, st.st_size, st.st_ino), time.time_ns()

    def record(
        self,
        path: str,
        taken: tuple[tuple[int, int, int], int] | None,
        digest: str,
        markers: list[str],
    ) -> None:
        """The digest and markers of the text read after `before_read` gave `taken`; not kept
        for a file changed just before it was read."""
        if taken is not None and taken[0][0] < taken[1] - RACY_NS:
            self.seen[path] = (taken[0], digest, markers)

    def finish(self) -> None:
        """Keep this build's reads for the next build in this process."""
        global _read
        _read = dict(self.seen)
