"""Citations in a topic's body: `[@key]` and `[@a; @b]`, numbered by order of first use."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown import Markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.postprocessors import Postprocessor

#: `[@key]` or `[@a; @b]` in a page body.
CITATION_RE = re.compile(
    r"\[(@[A-Za-z0-9][A-Za-z0-9_:-]*(?:\s*;\s*@[A-Za-z0-9][A-Za-z0-9_:-]*)*)\]"
)
FENCE_RE = re.compile(r"^\s*(```|~~~)")
#: A citation's link as `citation_html` writes it (without an id).
CITE_LINK_RE = re.compile(r'<a href="#ref-([A-Za-z0-9][A-Za-z0-9_:-]*)" aria-label="Reference ')


@dataclass
class Citation:
    """Where a citation stands in a body: its keys and 1-based line."""

    keys: list[str]
    line: int


def find_citations(body: str, first_line: int) -> list[Citation]:
    """Every `[@key]` group in the body outside fenced code, with its line."""
    found: list[Citation] = []
    fenced = False
    for number, line in enumerate(body.splitlines(), start=first_line):
        if FENCE_RE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        for match in CITATION_RE.finditer(line):
            keys = [k.strip().lstrip("@") for k in match.group(1).split(";")]
            found.append(Citation(keys, number))
    return found


class CitationExtension(Extension):
    """Python-Markdown extension: `[@a; @b]` becomes superscript links to the numbered list.

    The links go into Markdown's stash of raw HTML as an inline pattern finds them. Written into
    the Markdown text instead, they made Python-Markdown's HTML parser nearly double a topic's
    render time. Code spans are left alone (their pattern runs first). `numbers` is set for each
    page before it is rendered (the build renders one page at a time). The first citation of each
    reference in the finished page carries the `cite-<key>` id its back-link returns to; a
    postprocessor sets it, because Python-Markdown runs inline patterns on a paragraph before the
    list items above it, so the inline pattern cannot know which citation comes first."""

    def __init__(self, numbers: dict[str, int] | None = None) -> None:
        super().__init__()
        self.numbers = numbers or {}

    @property
    def numbers(self) -> dict[str, int]:
        """This page's reference numbers by key."""
        return self._numbers

    @numbers.setter
    def numbers(self, numbers: dict[str, int]) -> None:
        self._numbers = numbers

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        """Run after code spans and escapes, before links (which would see `[...]`); mark the
        first citations once the stashed HTML is back in the page (raw_html runs at 30)."""
        md.inlinePatterns.register(_CitationPattern(self, md), "citation", 175)
        md.postprocessors.register(_FirstCitationIds(md), "citation_ids", 25)


class _CitationPattern(InlineProcessor):
    def __init__(self, extension: CitationExtension, md: Markdown) -> None:
        super().__init__(CITATION_RE.pattern, md)
        self.extension = extension

    def handleMatch(  # type: ignore[override]  # noqa: N802
        self, m: re.Match[str], data: str
    ) -> tuple[str | None, int | None, int | None]:
        numbers = self.extension.numbers
        keys = [k.strip().lstrip("@") for k in m.group(1).split(";")]
        if not all(key in numbers for key in keys):
            return None, None, None  # not a known citation: left as written (the build refuses it)
        assert self.md is not None
        html = citation_html(keys, numbers)
        return self.md.htmlStash.store(html), m.start(0), m.end(0)


class _FirstCitationIds(Postprocessor):
    def run(self, text: str) -> str:
        """Give each reference's first citation in the page, in reading order, its id."""
        seen: set[str] = set()

        def mark(m: re.Match[str]) -> str:
            key = m.group(1)
            if key in seen:
                return m.group(0)
            seen.add(key)
            return f'<a href="#ref-{key}" id="cite-{key}" aria-label="Reference '

        return CITE_LINK_RE.sub(mark, text)


def citation_html(keys: list[str], numbers: dict[str, int], seen: set[str] | None = None) -> str:
    """`<sup class="citation">[<a …>1</a>, <a …>2</a>]</sup>` for these keys; a key not yet in
    `seen` (which this adds to) gets the `cite-<key>` id its back-link uses."""
    links = []
    for key in keys:
        anchor = "" if seen is None or key in seen else f' id="cite-{key}"'
        if seen is not None:
            seen.add(key)
        links.append(
            f'<a href="#ref-{key}"{anchor} aria-label="Reference {numbers[key]}">{numbers[key]}</a>'
        )
    return f'<sup class="citation">[{", ".join(links)}]</sup>'
