"""A worker's CPD reading time: credited in memory (`clock`), written in batches.

A beacon costs no database write: credited seconds wait in a deque and are added to
`cpd_reading` on the funnel's timer and at shutdown, one upsert per (reader, topic, day),
`seconds = min(seconds + n, SITE_CPD_MAX_SECONDS)`, so several workers add up and none passes
the cap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine

from site_api.cpd.clock import ReadingClock
from site_api.db import BatchedCounts
from site_api.models import CpdReading

_EPOCH = date(1970, 1, 1).toordinal()


class CpdRecorder:
    """Credits beacons and batches the seconds for the database."""

    def __init__(
        self, engine: Engine, max_seconds: int, now: Callable[[], float] = time.time
    ) -> None:
        self.now = now  # the wall clock beacons are credited on (tests replace it)
        self.clock = ReadingClock(max_seconds)
        self._seconds = BatchedCounts(
            engine,
            CpdReading.__table__,  # type: ignore[attr-defined]
            ("user_id", "page_id", "day"),
            column="seconds",
            cap=max_seconds,
        )

    def report(
        self, user_id: int, page_id: str, view: str, total: float, now: float | None = None
    ) -> int:
        """Credit one beacon; returns the seconds credited (memory only, never I/O)."""
        now = self.now() if now is None else now
        seconds = self.clock.credit(user_id, page_id, view, total, now)
        if seconds:
            day = date.fromordinal(_EPOCH + int(now) // 86400)  # the UTC day
            self._seconds.add((user_id, page_id, day), seconds)
        return seconds

    def allow(self, user_id: int) -> bool:
        """Whether this reader may send one more beacon now (memory only)."""
        return self.clock.allow(user_id, self.now())

    def forget_user(self, user_id: int) -> None:
        """Drop a reader's waiting seconds and views (recording off, or the log cleared)."""
        self.clock.forget_user(user_id)
        self._seconds.forget(lambda key: key[0] != user_id)

    def pending(self) -> int:
        """How many credits wait for the next flush."""
        return self._seconds.pending()

    def flush(self) -> None:
        """Write the waiting seconds, and forget what no longer matters. Blocking."""
        self.clock.sweep(self.now())
        self._seconds.flush()
