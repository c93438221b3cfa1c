"""The meter funnel's counters: (day, page id, event) aggregates, gathered in memory per worker.

A page view only increments a dictionary under a lock; a background task of each worker adds the
counts to `funnel_count` every few seconds and at shutdown (one upsert per key). Nothing about
the visitor is kept: no address, user agent, session, meter token or time of day.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from typing import Literal, get_args

from sqlalchemy import Engine

from site_api.db import BatchedCounts
from site_api.models import FunnelCount

#: The funnel's steps, in the order a visitor meets them.
Event = Literal[
    "view",  # an anonymous visitor read a metered topic (the meter let them)
    "first_view",  # ... the first topic counted in their meter window
    "last_free",  # ... the topic that used their last free one
    "gate",  # the gate page was shown instead of a topic
    "gate_sign_in_page",  # the sign-in page opened from the gate
    "gate_create_page",  # the create-account page opened from the gate
    "gate_account",  # an account created from there (attributed to the gate's page)
    "gate_sign_in",  # a sign-in from there
]
EVENTS: tuple[str, ...] = get_args(Event)
#: The query parameter (and hidden form field) the gate's links carry: no cookie, no identifier.
FROM_GATE = "from"
_EPOCH = date(1970, 1, 1).toordinal()
log = logging.getLogger(__name__)


def utc_day(now: float) -> date:
    """The UTC calendar day of a Unix time (the funnel's days are UTC on every host)."""
    return date.fromordinal(_EPOCH + int(now) // 86400)


class FunnelCounter:
    """One worker's funnel counts since its last flush."""

    def __init__(self, engine: Engine) -> None:
        self._counts = BatchedCounts(
            engine,
            FunnelCount.__table__,  # type: ignore[attr-defined]
            ("day", "page_id", "event"),
        )
        self._day = (-1, date.min)  # (days since the epoch, that day): made once a day

    def add(self, page_id: str, event: Event, now: float | None = None) -> None:
        """Count one event on one page: memory only, never I/O."""
        seconds = int(time.time() if now is None else now)
        number, day = self._day
        if seconds // 86400 != number:
            number, day = seconds // 86400, utc_day(seconds)
            self._day = (number, day)
        self._counts.add((day, page_id, event))

    def pending(self) -> int:
        """How many counts wait for the next flush."""
        return self._counts.pending()

    def flush(self) -> None:
        """Add this worker's counts to the database. Blocking."""
        self._counts.flush()
