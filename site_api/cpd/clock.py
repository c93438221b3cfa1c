"""How a beacon's reading time is credited: in memory, per worker, no I/O.

A beacon says "this view of this topic has been in the foreground for `total` seconds so far".
Only the increase over what the same view reported before is new (a replay adds nothing), no
view reports more than the cap, and a reader has one wall clock: the new seconds are taken to be
the ones just before the beacon arrived, and any part of them already credited to another view
(another tab, another topic) is not credited again. So whatever a browser sends, a reader
collects at most the real time that passed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

#: Beacons one reader may send per minute to one worker (a page sends one when hidden or left).
BEACONS_PER_MINUTE = 30
#: A view unheard of for this long is forgotten (a later beacon from it is bounded by the clock).
VIEW_MEMORY_SECONDS = 86_400
#: Views one reader may have remembered at once: far above a day's reading, and a bound on the
#: memory one account's stream of made-up view ids can take (further new views earn nothing).
VIEWS_PER_READER = 500


@dataclass
class _View:
    page_id: str
    total: float
    seen: float


class ReadingClock:
    """One worker's memory of readers' views, wall clocks and beacon rates."""

    def __init__(self, max_seconds: int, per_minute: int = BEACONS_PER_MINUTE) -> None:
        self.max_seconds = max_seconds
        self.per_minute = per_minute
        self._until: dict[int, float] = {}  # reader -> time up to which reading was credited
        self._views: dict[tuple[int, str], _View] = {}
        self._rate: dict[int, tuple[int, int]] = {}  # reader -> (minute, beacons in it)
        self._view_counts: dict[int, int] = {}  # reader -> views remembered
        # Beacons are answered on the event loop, sweeps run in the flush thread.
        self._lock = threading.Lock()

    def allow(self, user_id: int, now: float) -> bool:
        """Whether this reader may send one more beacon now (and count it)."""
        with self._lock:
            return self._allow(user_id, now)

    def _allow(self, user_id: int, now: float) -> bool:
        minute = int(now // 60)
        seen, count = self._rate.get(user_id, (minute, 0))
        if seen != minute:
            count = 0
        if count >= self.per_minute:
            return False
        self._rate[user_id] = (minute, count + 1)
        return True

    def credit(self, user_id: int, page_id: str, view: str, total: float, now: float) -> int:
        """Whole seconds of new reading that a view's report of `total` seconds earns now."""
        with self._lock:
            return self._credit(user_id, page_id, view, total, now)

    def _credit(self, user_id: int, page_id: str, view: str, total: float, now: float) -> int:
        total = min(max(total, 0.0), float(self.max_seconds))
        known = self._views.get((user_id, view))
        if known is not None and known.page_id != page_id:
            return 0  # a view is of one topic: a forged view id earns nothing
        claim = total - (known.total if known else 0.0)
        if claim <= 0:
            return 0  # a replay, or a report older than one already counted
        if known is None:
            if self._view_counts.get(user_id, 0) >= VIEWS_PER_READER:
                return 0
            self._view_counts[user_id] = self._view_counts.get(user_id, 0) + 1
        until = self._until.get(user_id, 0.0)
        credited = now - max(now - claim, until)
        self._until[user_id] = max(until, now)
        self._views[(user_id, view)] = _View(page_id, total, now)
        return max(0, int(credited))

    def forget_user(self, user_id: int) -> None:
        """Forget a reader's views (their log was cleared or recording switched off)."""
        with self._lock:
            for key in [k for k in self._views if k[0] == user_id]:
                del self._views[key]
            self._view_counts.pop(user_id, None)

    def sweep(self, now: float) -> None:
        """Forget what can no longer change a credit, so memory follows active readers only."""
        minute = int(now // 60)
        with self._lock:
            self._views = {
                k: v for k, v in self._views.items() if now - v.seen < VIEW_MEMORY_SECONDS
            }
            counts: dict[int, int] = {}
            for user_id, _ in self._views:
                counts[user_id] = counts.get(user_id, 0) + 1
            self._view_counts = counts
            # A report claims at most max_seconds before now: an older clock changes nothing.
            self._until = {u: t for u, t in self._until.items() if now - t < self.max_seconds}
            self._rate = {u: r for u, r in self._rate.items() if r[0] == minute}

    def size(self) -> int:
        """How many entries this memory holds (views, clocks, rates)."""
        return len(self._views) + len(self._until) + len(self._rate) + len(self._view_counts)
