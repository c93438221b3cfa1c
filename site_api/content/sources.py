"""Reading the topic sources in `content/topics/` (for `site-api review`, `new` and the desk)."""

from __future__ import annotations

import gc
from pathlib import Path

from site_api.content.model import Author, ContentError, SourcePage, load_authors, parse_page

TOPICS = "topics"
AUTHORS = "authors.yml"

#: What each source parsed to, by path, with the (mtime, size) it had then: the desk's review
#: queue re-reads a catalogue of 30,000 topics on every view, and only changed files need parsing
#: again (a stat each instead of a YAML parse each). Replaced whole by each read, so files that
#: are gone are forgotten.
_parsed: dict[Path, tuple[tuple[int, int], SourcePage | list[ContentError]]] = {}


def topic_sources(content: Path) -> tuple[list[SourcePage], list[str]]:
    """Every topic that parses, and a line for each that does not (review lists what it can)."""
    global _parsed
    pages: list[SourcePage] = []
    problems: list[str] = []
    seen: dict[Path, tuple[tuple[int, int], SourcePage | list[ContentError]]] = {}
    # Each parsed page keeps its YAML node tree (for error lines): tens of thousands of them make
    # the cyclic collector walk an ever larger heap again and again, 30 s instead of 13 s for
    # 30,000 topics. Temporaries are still freed by reference counting; the cycle collector only
    # waits until the scan ends.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _scan(content, seen, pages, problems)
    finally:
        if collecting:
            gc.enable()
    _parsed = seen
    return pages, problems


def _scan(
    content: Path,
    seen: dict[Path, tuple[tuple[int, int], SourcePage | list[ContentError]]],
    pages: list[SourcePage],
    problems: list[str],
) -> None:
    for path in sorted((content / TOPICS).glob("*.md")):
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        known = _parsed.get(path)
        if known is not None and known[0] == stamp:
            parsed = known[1]
        else:
            text = path.read_text(encoding="utf-8")
            parsed = parse_page(str(path), f"{TOPICS}/{path.name}", text)
        seen[path] = (stamp, parsed)
        if isinstance(parsed, list):
            problems.extend(str(e) for e in parsed)
        else:
            pages.append(parsed)


def content_authors(content: Path) -> dict[str, Author]:
    """The authors of `content/authors.yml` by key; none when it is missing or broken (names are
    then shown as keys: the build, not a list, is where that file's errors are reported)."""
    path = content / AUTHORS
    if not path.is_file():
        return {}
    found = load_authors(str(path), path.read_text(encoding="utf-8"))
    return found if isinstance(found, dict) else {}
