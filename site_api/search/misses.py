"""Queries that found nothing: counted in memory per worker, written in batches, reported.

Only the normalised query and the day are kept: no reader, session, address or time of day,
and no database write on the search path except one batch now and then.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from site_api.db import BatchedCounts
from site_api.models import SearchMiss

#: Longest query kept; longer ones are cut (what matters to editors is how they begin).
MAX_QUERY = 100


class MissCounter:
    """Counts unanswered queries per (day, normalised query) and writes them in batches."""

    def __init__(self, engine: Engine, batch: int = 200, every_seconds: float = 60.0) -> None:
        self.engine = engine
        self.batch = batch
        self.every_seconds = every_seconds
        self._counts = BatchedCounts(
            engine,
            SearchMiss.__table__,  # type: ignore[attr-defined]
            ("day", "query"),
        )
        self._last_flush = time.monotonic()

    def add(self, normalised: str, today: date | None = None) -> None:
        """Count one query that found nothing; writes a batch when enough have gathered."""
        waiting = self._counts.add((today or date.today(), normalised[:MAX_QUERY]))
        if waiting >= self.batch or time.monotonic() - self._last_flush >= self.every_seconds:
            self.flush()

    def flush(self) -> None:
        """Add the counts gathered so far to the database (one statement per query)."""
        self._last_flush = time.monotonic()
        self._counts.flush()


def top_misses(engine: Engine, days: int, limit: int) -> list[tuple[str, int]]:
    """The most frequent unanswered queries of the last `days` days, most frequent first."""
    since = date.today() - timedelta(days=days - 1)
    total = func.sum(col(SearchMiss.count)).label("total")
    statement = (
        select(col(SearchMiss.query), total)
        .where(col(SearchMiss.day) >= since)
        .group_by(col(SearchMiss.query))
        .order_by(total.desc(), col(SearchMiss.query))
        .limit(limit)
    )
    with Session(engine) as db:
        return [(query, int(count)) for query, count in db.execute(statement).all()]
