"""Alembic environment: migrations run against the engine `site_api.db` makes."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from site_api import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from site_api.db import make_engine

engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
