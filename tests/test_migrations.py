"""Alembic migrations build exactly the schema the models describe, and step down again."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pg import admin
from sqlmodel import SQLModel

from site_api import models  # noqa: F401  (registers the tables)
from site_api.db import alembic_config, make_engine, upgrade


def test_migrations_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'site.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'site.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "base")
    upgrade(url)


def test_foreign_keys_are_enforced_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'site.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_upgrading_keeps_dependent_rows(tmp_path: Path) -> None:
    """Rebuilding the user table (batch migration 0003) must not cascade into its sessions."""
    url = f"sqlite:///{tmp_path / 'site.db'}"
    command.upgrade(alembic_config(url), "0002")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO user (id, email, created_at) VALUES (1, 'a@example.org', '2026-01-01')"
        )
        connection.exec_driver_sql(
            "INSERT INTO user_session VALUES ('h', 1, '2026-01-01', '2026-01-01')"
        )
    engine.dispose()
    upgrade(url)
    with make_engine(url).connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM user_session").scalar() == 1


@pytest.mark.postgres
def test_migrations_on_postgres_match_the_models_and_step_down(postgres_server: str) -> None:
    """On an empty PostgreSQL database: up to head, models == schema, down to base, up again."""
    admin(postgres_server, "CREATE DATABASE migrations_empty")
    url = postgres_server + "migrations_empty"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"
    command.downgrade(alembic_config(url), "base")
    engine = make_engine(url)
    with engine.connect() as connection:
        tables = connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).scalars()
        assert set(tables) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    admin(postgres_server, "DROP DATABASE migrations_empty WITH (FORCE)")


def test_editors_stay_editors_through_the_role_column(tmp_path: Path) -> None:
    """0009 turns `is_editor` into `role`, and back on the way down."""
    url = f"sqlite:///{tmp_path / 'site.db'}"
    command.upgrade(alembic_config(url), "0008")
    engine = make_engine(url)
    with engine.begin() as connection:
        for n, editor in ((1, 1), (2, 0)):
            connection.exec_driver_sql(
                "INSERT INTO user (id, email, created_at, is_editor, keep_recent) "
                f"VALUES ({n}, 'u{n}@example.org', '2026-01-01', {editor}, 1)"
            )
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        roles = connection.exec_driver_sql("SELECT id, role FROM user ORDER BY id").all()
    engine.dispose()
    assert [tuple(r) for r in roles] == [(1, "editor"), (2, "reader")]
    command.downgrade(alembic_config(url), "0008")
    engine = make_engine(url)
    with engine.connect() as connection:
        flags = connection.exec_driver_sql("SELECT id, is_editor FROM user ORDER BY id").all()
    engine.dispose()
    assert [tuple(r) for r in flags] == [(1, 1), (2, 0)]
