"""The desk's review queue and unanswered searches: the data of `site-api review` and
`site-api search-report`, for a page."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from site_api.content.currency import DueTopic, due_for_review
from site_api.content.sources import content_authors, topic_sources
from site_api.search.misses import top_misses

#: As `site-api review` by default: overdue, or due within this many days.
REVIEW_WITHIN = 90
#: The windows and length of the unanswered-search lists.
MISS_WINDOWS = (7, 30)
MISS_LIMIT = 20


def review_queue(
    content_dir: Path, today: date, within: int = REVIEW_WITHIN
) -> tuple[list[DueTopic], list[str]]:
    """Topics overdue or due within `within` days, soonest first, with their authors' names, and
    the sources that did not parse (each one line, as `site-api review` prints them)."""
    pages, problems = topic_sources(content_dir)
    return due_for_review(pages, today, within, content_authors(content_dir)), problems


def unanswered(engine: Engine) -> dict[int, list[tuple[str, int]]]:
    """The top unanswered queries for each window of `MISS_WINDOWS` days."""
    return {days: top_misses(engine, days, MISS_LIMIT) for days in MISS_WINDOWS}
