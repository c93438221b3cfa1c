"""`site-api serve / build / db upgrade`."""

from __future__ import annotations

import os
import subprocess
import sys

import click
from pydantic import ValidationError

from site_api.config import ConfigError, Settings
from site_api.manifest import ManifestError


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

    from site_api.app import create_app
    from site_api.db import upgrade

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
