"""Links between pages: every broken `.md` link and anchor of every page, with the nearest fix.

MkDocs checks links too, but only while rendering, after our front-matter checks have passed, and
one warning at a time without a suggestion. Checking them here, on the Markdown source, lets one
build report every problem of every page at once. Pure: text in, errors out.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Iterable
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


def check_links(pages: list[LinkSource], extra_files: Iterable[str] = ()) -> list[ContentError]:
    """Every relative link to a missing page or a missing heading, each with the nearest match."""
    by_uri = {p.src_uri: p for p in pages}
    files = set(by_uri) | set(extra_files)
    anchors: dict[str, set[str]] = {}

    def anchors_for(uri: str) -> set[str]:
        if uri not in anchors:
            anchors[uri] = anchors_of(by_uri[uri].body)
        return anchors[uri]

    errors: list[ContentError] = []
    for page in pages:
        here = posixpath.dirname(page.src_uri)
        for number, line in _outside_fences(page.body, page.body_line):
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
                    if uri not in files:
                        errors.append(_missing_page(page, number, target, uri, here, files))
                        continue
                if anchor and uri in by_uri and anchor not in anchors_for(uri):
                    errors.append(_missing_anchor(page, number, target, anchor, anchors_for(uri)))
    return errors


def _missing_page(
    page: LinkSource, line: int, target: str, uri: str, here: str, files: set[str]
) -> ContentError:
    md_files = sorted(f for f in files if f.endswith(".md"))
    near = _nearest(uri, md_files) or _nearest(posixpath.basename(uri), md_files)
    hint = ""
    if near is not None:
        rel = posixpath.relpath(near, here or ".")
        hint = f"; did you mean '{rel}'?"
    return ContentError(
        page.path, line, f"link: '{target}' points to a page that does not exist{hint}"
    )


def _missing_anchor(
    page: LinkSource, line: int, target: str, anchor: str, known: set[str]
) -> ContentError:
    near = _nearest(anchor, sorted(known))
    hint = f"; did you mean '#{near}'?" if near else ""
    return ContentError(
        page.path, line, f"anchor: '{target}' names a heading '#{anchor}' that is not there{hint}"
    )
