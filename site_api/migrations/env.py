"""Alembic environment: migrations run against the engine `site_api.db` makes."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from site_api import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from site_api.db import make_engine

engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration rebuilds a table by dropping it; with foreign keys on, SQLite would
        # cascade that drop into every dependent row. Off for the migration, checked after.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
engine.dispose()
