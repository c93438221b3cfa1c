"""Reading the topic sources in `content/topics/` (for `site-api review`, `new` and the desk)."""

from __future__ import annotations

from pathlib import Path

from site_api.content.model import SourcePage, parse_page

TOPICS = "topics"


def topic_sources(content: Path) -> tuple[list[SourcePage], list[str]]:
    """Every topic that parses, and a line for each that does not (review lists what it can)."""
    pages: list[SourcePage] = []
    problems: list[str] = []
    for path in sorted((content / TOPICS).glob("*.md")):
        parsed = parse_page(str(path), f"{TOPICS}/{path.name}", path.read_text(encoding="utf-8"))
        if isinstance(parsed, list):
            problems.extend(str(e) for e in parsed)
        else:
            pages.append(parsed)
    return pages, problems
