"""Citations in a topic's body: `[@key]` and `[@a; @b]`, numbered by order of first use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, TypeVar


class Keyed(Protocol):
    """Anything cited by key: a topic's references."""

    key: str


Ref = TypeVar("Ref", bound=Keyed)

#: `[@key]` or `[@a; @b]` in a page body.
CITATION_RE = re.compile(
    r"\[(@[A-Za-z0-9][A-Za-z0-9_:-]*(?:\s*;\s*@[A-Za-z0-9][A-Za-z0-9_:-]*)*)\]"
)
FENCE_RE = re.compile(r"^\s*(```|~~~)")


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


def order_references(references: list[Ref], citations: list[Citation]) -> list[tuple[int, Ref]]:
    """References numbered by order of first citation."""
    by_key = {r.key: r for r in references}
    order: list[str] = []
    for citation in citations:
        for key in citation.keys:
            if key in by_key and key not in order:
                order.append(key)
    return [(n, by_key[key]) for n, key in enumerate(order, start=1)]


def render_citations(body: str, numbers: dict[str, int]) -> str:
    """Replace `[@a; @b]` with superscript links to the numbered reference list."""
    out: list[str] = []
    fenced = False
    seen: set[str] = set()  # the first citation of each reference gets the id its back-link uses
    for line in body.splitlines(keepends=True):
        if FENCE_RE.match(line):
            fenced = not fenced
        if not fenced:
            line = CITATION_RE.sub(lambda m: _citation_html(m, numbers, seen), line)
        out.append(line)
    return "".join(out)


def _citation_html(match: re.Match[str], numbers: dict[str, int], seen: set[str]) -> str:
    keys = [k.strip().lstrip("@") for k in match.group(1).split(";")]
    links = []
    for key in keys:
        anchor = "" if key in seen else f' id="cite-{key}"'
        seen.add(key)
        links.append(
            f'<a href="#ref-{key}"{anchor} aria-label="Reference {numbers[key]}">{numbers[key]}</a>'
        )
    return f'<sup class="citation">[{", ".join(links)}]</sup>'
