"""A real PostgreSQL for the tests: a throwaway cluster from Debian's binaries, one per session.

`postgres_server` is `servers.postgres_cluster()` for the session: initdb and pg_ctl in a
temporary directory, as the `postgres` system user when the tests run as root; it yields a base
URL to which a database name is appended. `postgres_template` migrates a database once per
session; `postgres_database` copies it per test with CREATE DATABASE ... TEMPLATE, which takes
milliseconds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import psycopg
import pytest
from conftest import require
from servers import postgres_bindir, postgres_cluster

from site_api.db import upgrade

TEMPLATE = "template_site"
_names = itertools.count(1)


def admin(base_url: str, *statements: str) -> None:
    """Run statements that cannot run in a transaction (CREATE/DROP DATABASE) as the superuser."""
    dsn = base_url.replace("postgresql+psycopg://", "postgresql://") + "postgres"
    with psycopg.connect(dsn, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster on loopback; yields `postgresql+psycopg://postgres@127.0.0.1:<port>/`."""
    bindir = postgres_bindir()
    require(bindir is not None, "PostgreSQL server (Debian package 'postgresql')")
    assert bindir is not None
    with postgres_cluster(bindir) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> str:
    """A database migrated to the newest schema once per session, the template of every test's."""
    admin(postgres_server, f"CREATE DATABASE {TEMPLATE}")
    upgrade(postgres_server + TEMPLATE)  # the migration's engine is disposed, so none is left open
    return postgres_server + TEMPLATE


@pytest.fixture
def postgres_database(postgres_server: str, postgres_template: str) -> Iterator[str]:
    """A fresh database at the newest schema for one test; dropped (connections and all) after."""
    name = f"t_{next(_names)}"
    admin(postgres_server, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    yield postgres_server + name
    admin(postgres_server, f"DROP DATABASE {name} WITH (FORCE)")
