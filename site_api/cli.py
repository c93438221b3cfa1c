"""`site-api serve / build / db upgrade / search-report / user create / user list`."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from site_api.config import ConfigError, Settings
from site_api.content.manifest import ManifestError

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "SITE_" + "_".join(str(p) for p in first["loc"]).upper()
        raise click.ClickException(f"{name}: {first['msg']}") from None


@click.group()
def main() -> None:
    """Clinical Notebook: build and serve the site."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes; each builds the app from the same SITE_ settings.",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the built site and the API (the embedded server)."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    from site_api.db import upgrade
    from site_api.web.app import create_app

    settings = _settings()
    if settings.database_url.startswith("sqlite"):
        upgrade(settings.database_url)  # the embedded database keeps itself up to date
    try:
        # Built once here, before the workers build their own: a bad site or setting stops the
        # start with a message, and the development key exists before workers race to create it.
        create_app(settings)
    except (ManifestError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Serving {settings.site_dir}/ on http://{host}:{port}/ ({workers} worker(s))")
    # Granian (Rust HTTP core) answers the same ASGI app about 1.7x faster than uvicorn here
    # (35k vs 21k requests/s on the MAS page, one worker): see README, Benchmarks.
    Granian(
        "site_api.asgi:app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        log_level=LogLevels(settings.log_level),
        log_access=settings.log_level == "debug",
    ).serve()


@main.command()
@click.option("--config-file", "-f", default="mkdocs.yml", show_default=True)
def build(config_file: str) -> None:
    """Build the site with MkDocs (strict): content errors are printed as path:line: message."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", config_file], env=env
    )
    if result.returncode:
        raise click.ClickException("the site was not built: fix the errors above")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database to the newest schema."""
    from site_api.db import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    click.echo(f"database at {settings.database_url} is up to date")


@main.command("search-report")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3660))
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1, 10000))
def search_report(days: int, limit: int) -> None:
    """The queries readers searched for most and found nothing (count, tab, normalised query)."""
    from sqlalchemy.exc import SQLAlchemyError

    from site_api.search.misses import top_misses

    settings = _settings()
    try:
        rows = top_misses(_engine_for(settings), days, limit)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database at {settings.database_url}: {exc}") from None
    click.echo(f"# top unanswered searches, last {days} day(s)")
    for query, count in rows:
        click.echo(f"{count}\t{query}")


@main.group()
def user() -> None:
    """Accounts, for operators."""


def _engine_for(settings: Settings) -> Engine:
    from site_api.db import make_engine, upgrade

    if settings.database_url.startswith("sqlite"):
        upgrade(settings.database_url)  # as `serve` does: the embedded database keeps up to date
    return make_engine(settings.database_url)


@user.command("create")
@click.option("--email", required=True, help="The account's email address.")
@click.option("--editor", is_flag=True, help="The account may edit topics.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)
def user_create(email: str, editor: bool, password_stdin: bool) -> None:
    """Create an account, its email address already confirmed."""
    from sqlalchemy.exc import SQLAlchemyError

    from site_api.accounts import users

    settings = _settings()
    try:
        address = users.normalise_email(email)
        engine = _engine_for(settings)
        if users.find_user(engine, address) is not None:
            raise users.AccountError("An account with that email address already exists.")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        created = users.create_user(engine, address, password, verified=True, editor=editor)
    except users.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database at {settings.database_url}: {exc}") from None
    kind = "editor" if created.is_editor else "reader"
    click.echo(f"created {kind} account {created.email} (email address confirmed)")


@user.command("list")
def user_list() -> None:
    """Every account: email, created, confirmed, editor."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import Session, col, select

    from site_api.models import User

    settings = _settings()
    try:
        with Session(_engine_for(settings)) as db:
            users = db.exec(select(User).order_by(col(User.email))).all()
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database at {settings.database_url}: {exc}") from None
    for row in users:
        flags = ["confirmed" if row.email_verified_at else "unconfirmed"]
        flags += ["editor"] if row.is_editor else []
        flags += [] if row.password_hash else ["single sign-on only"]
        click.echo(f"{row.email}\t{row.created_at:%Y-%m-%d}\t{', '.join(flags)}")
