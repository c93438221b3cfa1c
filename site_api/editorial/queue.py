"""The desk's review queue, drafts and unanswered searches: the data of `site-api review` and
`site-api search-report`, for a page.

The topics' review dates, authors and status come from the live build's editorial rows
(content/manifest.py), written by the build: the desk never reads or parses a topic's source,
so a desk view costs the same whatever the catalogue's size and never holds its sources.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine

from site_api.content.currency import DueTopic
from site_api.content.manifest import EditorialEntry, editorial_path_for, read_editorial
from site_api.search.misses import top_misses

#: As `site-api review` by default: overdue, or due within this many days.
REVIEW_WITHIN = 90
#: The windows and length of the unanswered-search lists.
MISS_WINDOWS = (7, 30)
MISS_LIMIT = 20


#: At most this many drafts and unapproved topics are listed (with their counts): the desk
#: never lists the whole catalogue, even one that was never approved.
LISTED = 100


@dataclass(frozen=True)
class DeskTopics:
    """What the desk lists of the topics of one build, on one day."""

    due: list[DueTopic]  # overdue or due within REVIEW_WITHIN days, soonest first
    drafts: list[EditorialEntry]  # status: draft (the first LISTED, by path)
    unapproved: list[EditorialEntry]  # published, never approved or changed since (first LISTED)
    counts: dict[str, int]  # how many drafts and unapproved topics there are in all


_cache: dict[tuple[Path, int, date], DeskTopics] = {}
_lock = threading.Lock()


def desk_topics(site_dir: Path, today: date, within: int = REVIEW_WITHIN) -> DeskTopics:
    """The desk's topic lists from the build in `site_dir`; computed once per build and day."""
    horizon = today + timedelta(days=within)
    resolved = Path(site_dir).resolve()
    key = (resolved, editorial_path_for(resolved).stat().st_mtime_ns, today)
    with _lock:  # one desk view reads the rows; another at the same time waits for them
        found = _cache.get(key)
        if found is None:
            found = _read(resolved, today, horizon)
            _cache.clear()  # one build and day at a time
            _cache[key] = found
        return found


def _read(site_dir: Path, today: date, horizon: date) -> DeskTopics:
    due: list[DueTopic] = []
    lists: dict[str, list[EditorialEntry]] = {"drafts": [], "unapproved": []}
    counts = {"drafts": 0, "unapproved": 0}

    def wanted(row: EditorialEntry) -> bool:
        if row.next_review <= horizon:
            days = (today - row.next_review).days
            # As `site-api review` names them: `Name (key)`.
            names = [f"{n} ({k})" for n, k in zip(row.author_names, row.authors, strict=True)]
            due.append(DueTopic(row.title, row.path, names, row.next_review, days))
        kind = (
            "drafts"
            if row.status == "draft"
            else "unapproved"
            if row.approval != "approved"
            else None
        )
        if kind is not None:
            counts[kind] += 1
            if len(lists[kind]) < LISTED:
                lists[kind].append(row)
        return False  # kept above, only what is shown

    read_editorial(site_dir, wanted)
    return DeskTopics(
        sorted(due, key=lambda d: (d.due, d.path)), lists["drafts"], lists["unapproved"], counts
    )


def unanswered(engine: Engine) -> dict[int, list[tuple[str, int]]]:
    """The top unanswered queries for each window of `MISS_WINDOWS` days."""
    return {days: top_misses(engine, days, MISS_LIMIT) for days in MISS_WINDOWS}
