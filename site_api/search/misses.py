"""Queries that found nothing: counted in memory per worker, written in batches, reported.

Only the normalised query and the day are kept: no reader, session, address or time of day,
and no database write on the search path (the app's timer flushes, as for the funnel).

So that one client cannot fill the editors' list, each (query, client) counts at most once a
day, and one client at most `PER_CLIENT` distinct queries a day. The client is remembered only
as a keyed hash, in this worker's memory, under a key drawn at random each day and never
stored: yesterday's hashes are dropped with yesterday's key, and nothing can turn a hash back
into an address. Each worker remembers its own clients, so a client counts at most once per
worker (a handful) for a query.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from site_api.db import BatchedCounts
from site_api.models import SearchMiss

#: Longest query kept; longer ones are cut (what matters to editors is how they begin).
MAX_QUERY = 100
#: Distinct unanswered queries counted per client per day (and worker).
PER_CLIENT = 20
#: (query, client) pairs remembered per day and worker; past this, nothing more is counted
#: that day (a flood of distinct clients and queries cannot exhaust memory).
MAX_REMEMBERED = 200_000


class MissCounter:
    """Counts unanswered queries per (day, normalised query), once per client, in batches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._counts = BatchedCounts(
            engine,
            SearchMiss.__table__,  # type: ignore[attr-defined]
            ("day", "query"),
        )
        self._lock = threading.Lock()
        self._day: date | None = None
        self._key = b""
        self._seen: set[bytes] = set()
        self._per_client: Counter[bytes] = Counter()

    def _hash(self, *parts: str) -> bytes:
        data = "\x00".join(parts).encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, key=self._key, digest_size=16).digest()

    def add(self, normalised: str, client: str, today: date | None = None) -> bool:
        """Count one query that found nothing for `client` (an address); False when this client
        has already been counted for it today, or has reached its day's share."""
        day = today or date.today()
        query = normalised[:MAX_QUERY]
        with self._lock:
            if day != self._day:  # a new day: forget every client, with the key
                self._day, self._key = day, secrets.token_bytes(32)
                self._seen.clear()
                self._per_client.clear()
            pair, who = self._hash(query, client), self._hash(client)
            if (
                pair in self._seen
                or self._per_client[who] >= PER_CLIENT
                or len(self._seen) >= MAX_REMEMBERED
            ):
                return False
            self._seen.add(pair)
            self._per_client[who] += 1
        self._counts.add((day, query))
        return True

    def pending(self) -> int:
        """How many counts wait for the next flush."""
        return self._counts.pending()

    def flush(self) -> None:
        """Add the counts gathered so far to the database (one statement per query)."""
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
