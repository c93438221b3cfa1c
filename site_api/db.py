"""Database engine (SQLite in WAL mode by default, PostgreSQL in production) and migrations."""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from alembic import command
from alembic.config import Config
from anyio import to_thread
from sqlalchemy import Engine, Table, case, event, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, create_engine

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine; SQLite gets WAL, a busy timeout and foreign keys on every connection.

    A server database (PostgreSQL) gets `pool_size` kept connections and as many again under
    bursts: each worker process opens at most 2 x `pool_size`.
    """
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)
    # A pool as large as anyio's worker threads, so no request opens (and PRAGMAs) a connection.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 15},
        pool_size=40,
        max_overflow=10,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def alembic_config(url: str) -> Config:
    """Alembic configured from code, so no alembic.ini has to be found on disk."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema, creating the SQLite file if needed."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


class BatchedCounts:
    """Counts per key gathered in memory and added to a table of aggregates in batches.

    `table` has the key columns `keys` (its primary key) and an integer `column` ("count").
    `add` appends the key to a deque (atomic, no lock: it runs on the page view's path); `flush`
    sums them and writes one upsert per key, `count = count + excluded.count`, so concurrent
    flushes from several workers add up and lose nothing, on SQLite and PostgreSQL alike. With
    a `cap` the stored sum never passes it (the CPD log's most seconds per topic and day)."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        keys: Sequence[str],
        column: str = "count",
        cap: int | None = None,
    ) -> None:
        self.engine = engine
        self.table = table
        self.keys = tuple(keys)
        self.column = column
        self.cap = cap
        self._events: deque[tuple[tuple[Hashable, ...], int]] = deque()
        self._carried: Counter[tuple[Hashable, ...]] = Counter()  # from a flush that failed
        self._flushing = threading.Lock()

    def add(self, key: tuple[Hashable, ...], amount: int = 1) -> int:
        """Count `amount` (one) for `key`; returns how many adds wait for the next flush."""
        self._events.append((key, amount))
        return len(self._events)

    def forget(self, keep: Callable[[tuple[Hashable, ...]], bool]) -> None:
        """Drop the waiting counts whose key `keep` refuses (a reader cleared their log)."""
        with self._flushing:
            for _ in range(len(self._events)):
                key, amount = self._events.popleft()
                if keep(key):
                    self._events.append((key, amount))
            for key in [k for k in self._carried if not keep(k)]:
                del self._carried[key]

    def pending(self) -> int:
        """How many counts wait for the next flush."""
        return len(self._events) + sum(self._carried.values())

    def flush(self) -> None:
        """Add what was counted so far to the table (one upsert per key, one transaction)."""
        with self._flushing:
            pending, self._carried = self._carried, Counter()
            events = self._events
            # Only what is there now: counts added meanwhile stay queued for the next flush.
            for _ in range(len(events)):
                key, amount = events.popleft()
                pending[key] += amount
            if not pending:
                return
            cap = self.cap
            rows = [
                {
                    **dict(zip(self.keys, k, strict=True)),
                    self.column: n if cap is None else min(n, cap),
                }
                for k, n in pending.items()
            ]
            dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(self.table)
            total = self.table.c[self.column] + statement.excluded[self.column]
            if cap is not None:
                total = case((total > cap, cap), else_=total)
            statement = statement.on_conflict_do_update(
                index_elements=list(self.keys), set_={self.column: total}
            )
            try:
                with self.engine.begin() as connection:
                    connection.execute(statement, rows)
            except Exception:
                # Kept for the next flush rather than lost to a busy or restarting database.
                self._carried.update(pending)
                raise


def save_versioned(
    engine: Engine,
    model: type[SQLModel],
    match: dict[str, Any],
    version: int | None,
    values: dict[str, Any],
    now: datetime,
) -> bool:
    """Create (`version` None) or replace (the version it was based on) the one row of `model`
    matching `match`; False when another save came first (the row exists, or moved on).

    Compare-and-set in one statement, so of two saves from the same version one wins. The
    table has `version`, `created_at` and `updated_at` columns and a unique key on `match`."""
    with Session(engine) as db:
        if version is None:
            db.add(model(**match, **values, version=1, created_at=now, updated_at=now))
            try:
                db.commit()
            except IntegrityError:  # a row exists already: this save was based on nothing
                db.rollback()
                return False
            return True
        table = model.__table__  # type: ignore[attr-defined]
        result = db.execute(
            update(table)
            .where(*(table.c[k] == v for k, v in match.items()), table.c.version == version)
            .values(**values, version=version + 1, updated_at=now)
        )
        db.commit()
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def flush_every(seconds: float, flush: Callable[[], None], what: str) -> None:
    """Call the blocking `flush` in a thread every `seconds` until cancelled (an app's lifespan
    runs it, then flushes once more at shutdown); a failed flush is logged and its counts are
    kept for the next (BatchedCounts carries them)."""
    while True:
        await anyio.sleep(seconds)
        try:
            await to_thread.run_sync(flush)
        except Exception:
            log.exception("%s not written yet; they are kept for the next flush", what)
