"""Queries that found nothing: counted in memory per worker, written in batches, reported.

Only the normalised query and the day are kept: no reader, session, address or time of day,
and no database write on the search path except one batch now and then.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from site_api.models import SearchMiss

#: Longest query kept; longer ones are cut (what matters to editors is how they begin).
MAX_QUERY = 100


class MissCounter:
    """Counts unanswered queries per (day, normalised query) and writes them in batches."""

    def __init__(self, engine: Engine, batch: int = 200, every_seconds: float = 60.0) -> None:
        self.engine = engine
        self.batch = batch
        self.every_seconds = every_seconds
        self._pending: Counter[tuple[date, str]] = Counter()
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def add(self, normalised: str, today: date | None = None) -> None:
        """Count one query that found nothing; writes a batch when enough have gathered."""
        key = (today or date.today(), normalised[:MAX_QUERY])
        with self._lock:
            self._pending[key] += 1
            due = (
                sum(self._pending.values()) >= self.batch
                or time.monotonic() - self._last_flush >= self.every_seconds
            )
        if due:
            self.flush()

    def flush(self) -> None:
        """Add the counts gathered so far to the database (one statement per query)."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._last_flush = time.monotonic()
        if not pending:
            return
        rows = [{"day": d, "query": q, "count": n} for (d, q), n in pending.items()]
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        table = SearchMiss.__table__  # type: ignore[attr-defined]
        statement = dialect.insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["day", "query"],
            set_={"count": table.c.count + statement.excluded.count},
        )
        with self.engine.begin() as connection:
            connection.execute(statement, rows)


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
