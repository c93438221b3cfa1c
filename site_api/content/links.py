"""Links between pages: every broken `.md` link and anchor of every page, with the nearest fix.

MkDocs checks links too, but only while rendering, after our front-matter checks have passed, and
one warning at a time without a suggestion. Checking them here, on the Markdown source, lets one
build report every problem of every page at once. Pure: text in, errors out.
"""

from __future__ import annotations

import bisect
import difflib
import posixpath
import re
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from markdown.extensions.toc import slugify

from site_api.content.citations import FENCE_RE
from site_api.content.model import ContentError

#: `[text](target)` and `![alt](target "title")`; the target stops at whitespace or `)`.
LINK_RE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
ATTR_ID_RE = re.compile(r"\{[^}]*#([A-Za-z][\w-]*)[^}]*\}")
HTML_ID_RE = re.compile(r"\bid=[\"']([^\"']+)[\"']")
INLINE_CODE_RE = re.compile(r"`[^`]*`")


@dataclass(frozen=True)
class LinkSource:
    """A page's body as links see it: where it is and what it says."""

    path: str  # as the editor sees it: content/topics/x.md
    src_uri: str  # relative to the docs dir: topics/x.md
    body: str
    body_line: int


def anchors_of(body: str) -> set[str]:
    """The ids a page's headings get (Python-Markdown's toc slugs) and any explicit `{#id}`."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in _outside_fences(body):
        found.update(HTML_ID_RE.findall(line[1]))
        match = HEADING_RE.match(line[1])
        if not match:
            continue
        text = match.group(2)
        explicit = ATTR_ID_RE.search(text)
        if explicit:
            found.add(explicit.group(1))
            continue
        slug = slugify(re.sub(r"[*_`]", "", text), "-")
        # toc makes repeated headings unique as slug_1, slug_2 ...
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}_{count}")
    return found


def _outside_fences(body: str, first_line: int = 1) -> Iterable[tuple[int, str]]:
    fenced = False
    for number, line in enumerate(body.splitlines(), start=first_line):
        if FENCE_RE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def _nearest(wanted: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(wanted, list(choices), n=1, cutoff=0.5)
    return close[0] if close else None


#: Neighbours taken on each side of a broken link's place in each sorted list of names.
NEIGHBOURS = 6
#: Names sharing a one-letter deletion with the wanted one (a single slip of the keyboard: a
#: letter dropped, doubled, replaced or swapped), at most, best first.
DELETION_CANDIDATES = 16
#: Longer wanted names are not expanded into deletions (their neighbours still are looked at).
LONGEST_EXPANDED = 80
CUTOFF = 0.5
_INDEX_BITS = 24  # a packed deletion entry: 40 bits of the deletion's hash, 24 of the name's index


def _deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _hash40(text: str) -> int:
    return hash(text) & ((1 << 40) - 1)


class Suggestions:
    """Every page's names, indexed once per build, so that a broken link's nearest page is chosen
    among a bounded set of candidates instead of every page.

    A page is known by its path (`topics/x`), its file name (`x`) and, when given, the slugs of
    its title and aliases (`mas`). A broken link's path and file name are looked up exactly, in
    the names sorted forwards and backwards (neighbours share a beginning or an ending), and by
    one-letter deletions of file names (SymSpell's idea: two names one slip apart share one);
    only those candidates are compared with difflib. `examined` counts the comparisons.
    """

    def __init__(self, files: Iterable[str], names: Mapping[str, Iterable[str]] | None = None):
        entries: set[tuple[str, str]] = set()
        stems: set[tuple[str, str]] = set()
        for uri in files:
            if not uri.endswith(".md"):
                continue
            path = uri.removesuffix(".md")
            stems.add((posixpath.basename(path), uri))
            entries.add((path, uri))
            for name in (names or {}).get(uri, ()):
                if slug := slugify(name, "-"):
                    entries.add((slug, uri))
        entries |= stems
        self._forward = sorted(entries)
        self._backward = sorted((key[::-1], uri) for key, uri in entries)
        self._exact: dict[str, str] = {}
        for key, uri in self._forward:
            self._exact.setdefault(key, uri)
        # One packed integer per (deletion, name): compact enough for 30,000 topics.
        self._stems = sorted(stems)
        packed = sorted(
            _hash40(gone) << _INDEX_BITS | n
            for n, (stem, _) in enumerate(self._stems)
            for gone in _deletions(stem)
        )
        self._deleted = array("Q", packed)
        self.examined = 0

    def _one_slip_away(self, wanted: str) -> list[tuple[str, str]]:
        shared: dict[int, int] = {}
        for gone in _deletions(wanted):
            low = _hash40(gone) << _INDEX_BITS
            at = bisect.bisect_left(self._deleted, low)
            for packed in self._deleted[at : at + DELETION_CANDIDATES]:
                if packed >> _INDEX_BITS != low >> _INDEX_BITS:
                    break
                n = packed & ((1 << _INDEX_BITS) - 1)
                shared[n] = shared.get(n, 0) + 1
        best = sorted(shared, key=lambda n: (-shared[n], n))[:DELETION_CANDIDATES]
        return [self._stems[n] for n in best]

    def _candidates(self, wanted: str, expand: bool) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for entries, reverse in ((self._forward, False), (self._backward, True)):
            at = bisect.bisect_left(entries, (wanted[::-1] if reverse else wanted, ""))
            for near_key, uri in entries[max(at - NEIGHBOURS, 0) : at + NEIGHBOURS]:
                found.add((near_key[::-1] if reverse else near_key, uri))
        if expand and len(wanted) <= LONGEST_EXPANDED:
            found.update(self._one_slip_away(wanted))
        return found

    def nearest(self, uri: str) -> str | None:
        """The existing page a link to the missing `uri` most likely meant, or None."""
        path = uri.removesuffix(".md")
        stem = posixpath.basename(path)
        for wanted in (path, stem, slugify(stem, "-")):
            if wanted in self._exact:  # a file name, title or alias, exactly (`MAS.md` too)
                return self._exact[wanted]
        best: tuple[float, str] | None = None  # (-ratio, page): the highest ratio, then by name
        matcher = difflib.SequenceMatcher()
        for wanted, expand in ((path, False), (stem, True)):
            matcher.set_seq2(wanted)  # as get_close_matches does: its tables are built once
            bounded = []
            for key, candidate in self._candidates(wanted, expand):
                self.examined += 1
                matcher.set_seq1(key)
                if matcher.real_quick_ratio() >= CUTOFF and matcher.quick_ratio() >= CUTOFF:
                    bounded.append((matcher.quick_ratio(), key, candidate))
            # quick_ratio bounds ratio from above: once it falls below the best, stop.
            for bound, key, candidate in sorted(bounded, reverse=True):
                if best is not None and bound < -best[0]:
                    break
                matcher.set_seq1(key)
                ratio = matcher.ratio()
                if ratio >= CUTOFF and (best is None or (-ratio, candidate) < best):
                    best = (-ratio, candidate)
        return best[1] if best else None


@dataclass(frozen=True)
class Link:
    """One relative link to a page of the site, as written."""

    line: int
    target: str  # as written: topics/x.md#y
    uri: str  # the page it names, docs-relative (the page itself for `#y`)
    anchor: str


@dataclass(frozen=True)
class PageLinks:
    """What links see of one page: its links to pages and its own anchors (one pass over the
    body, and a pure function of it: a build keeps it for the next one, by the source's digest).
    """

    path: str
    src_uri: str
    links: tuple[Link, ...]
    anchors: frozenset[str]


def page_links(page: LinkSource) -> PageLinks:
    """The page's relative `.md` links and the anchors its headings give."""
    here = posixpath.dirname(page.src_uri)
    links: list[Link] = []
    for number, line in _outside_fences(page.body, page.body_line):
        if "(" not in line:
            continue  # no link can start here (most lines): skip the regular expressions
        for match in LINK_RE.finditer(INLINE_CODE_RE.sub("", line)):
            target = match.group(1)
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", target):
                continue  # http:, mailto: ... are not ours to check
            file_part, _, anchor = target.partition("#")
            file_part = file_part.split("?", 1)[0]
            if file_part.startswith("/"):
                continue  # MkDocs' absolute_links validation reports these
            if not file_part:
                uri = page.src_uri
            else:
                uri = posixpath.normpath(posixpath.join(here, file_part))
                if not uri.endswith(".md"):
                    continue  # an asset or a directory link: MkDocs checks those
            links.append(Link(number, target, uri, anchor))
    return PageLinks(page.path, page.src_uri, tuple(links), frozenset(anchors_of(page.body)))


def check_links(
    pages: Iterable[LinkSource | PageLinks],
    extra_files: Iterable[str] = (),
    names: Mapping[str, Iterable[str]] | None = None,
) -> list[ContentError]:
    """Every relative link to a missing page or a missing heading, each with the nearest match.

    `names`: each page's title and aliases by its `src_uri`, so that `[MAS](mas.md)` finds the
    page whose alias is MAS."""
    found = [p if isinstance(p, PageLinks) else page_links(p) for p in pages]
    by_uri = {p.src_uri: p for p in found}
    files = set(by_uri) | set(extra_files)
    suggestions: list[Suggestions] = []  # built at the first broken link, if there is one

    def nearest(uri: str) -> str | None:
        if not suggestions:
            suggestions.append(Suggestions(files, names))
        return suggestions[0].nearest(uri)

    errors: list[ContentError] = []
    for page in found:
        here = posixpath.dirname(page.src_uri)
        for link in page.links:
            if link.uri not in files:
                errors.append(_missing_page(page, link, here, nearest(link.uri)))
                continue
            target = by_uri.get(link.uri)
            if link.anchor and target is not None and link.anchor not in target.anchors:
                errors.append(_missing_anchor(page, link, target.anchors))
    return errors


def _missing_page(page: PageLinks, link: Link, here: str, near: str | None) -> ContentError:
    hint = ""
    if near is not None:
        rel = posixpath.relpath(near, here or ".")
        hint = f"; did you mean '{rel}'?"
    return ContentError(
        page.path, link.line, f"link: '{link.target}' points to a page that does not exist{hint}"
    )


def _missing_anchor(page: PageLinks, link: Link, known: frozenset[str]) -> ContentError:
    near = _nearest(link.anchor, sorted(known))
    hint = f"; did you mean '#{near}'?" if near else ""
    return ContentError(
        page.path,
        link.line,
        f"anchor: '{link.target}' names a heading '#{link.anchor}' that is not there{hint}",
    )
