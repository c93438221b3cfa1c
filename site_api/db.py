"""Database engine (SQLite in WAL mode by default, PostgreSQL in production) and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlmodel import create_engine

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
