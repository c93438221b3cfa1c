"""A real PostgreSQL for the tests: a throwaway cluster from Debian's binaries, one per session.

`postgres_server` runs initdb and pg_ctl in a temporary directory (as the `postgres` system user
when the tests run as root, since initdb refuses root) and yields a base URL to which a database
name is appended. `postgres_template` migrates a database once per session; `postgres_database`
copies it per test with CREATE DATABASE ... TEMPLATE, which takes milliseconds.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import free_port, require

from site_api.db import upgrade

PG_ROOT = Path("/usr/lib/postgresql")
TEMPLATE = "template_site"
_names = itertools.count(1)


def postgres_bindir() -> Path | None:
    """The newest Debian PostgreSQL server's bin/ directory, if one is installed."""
    versions = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "initdb").is_file() and (p / "pg_ctl").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return versions[-1] if versions else None


def _as_server_user(tmp: Path) -> list[str]:
    """The command prefix that runs the server binaries as a non-root user (initdb refuses root)."""
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam("postgres")  # created by the Debian package
    os.chown(tmp, user.pw_uid, user.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


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
    # Not under pytest's tmp_path: its parents are private to root, and the socket path is short.
    tmp = Path(tempfile.mkdtemp(prefix="pg-"))
    prefix = _as_server_user(tmp)
    data, log = tmp / "data", tmp / "server.log"
    port = free_port()
    try:
        subprocess.run(
            [
                *prefix,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        options = (
            f"-k {tmp} -p {port} -c listen_addresses=127.0.0.1 -c max_connections=200"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        started = subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "start", "-w", "-t", "30"]
            + ["-D", str(data), "-l", str(log), "-o", options],
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            server_log = log.read_text(errors="replace") if log.is_file() else ""
            raise RuntimeError(f"PostgreSQL did not start:\n{started.stderr}\n{server_log}")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "stop", "-m", "immediate", "-D", str(data)],
                capture_output=True,
            )
        shutil.rmtree(tmp, ignore_errors=True)


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
