"""`site-api serve / build / builds / publish / new / review / cite / preview / db upgrade / search-report / user ...`."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from site_api.config import ConfigError, Settings, public_url_mismatch
from site_api.content.manifest import ManifestError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from site_api.content.model import SourcePage

TOPICS = "topics"
PREVIEW_KEEP_BUILDS = 2


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
    help="Worker processes, forked with the app built here from the SITE_ settings.",
)
@click.option(
    "--uds",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Listen on this Unix socket instead of --host/--port (nginx on the same host: "
    '--api unix:PATH; list "unix:" in SITE_TRUSTED_PROXIES).',
)
def serve(host: str, port: int, workers: int, uds: Path | None) -> None:
    """Serve the built site and the API (the embedded server)."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    from site_api import asgi
    from site_api.db import upgrade
    from site_api.web.app import create_app

    settings = _settings()
    if settings.database_url.startswith("sqlite"):
        upgrade(settings.database_url)  # the embedded database keeps itself up to date
    try:
        # Built once here, before any worker: a bad site or setting stops the start with a
        # message, the development key exists before workers look for it, and the workers
        # Granian forks take this app instead of loading the build again.
        asgi.keep(create_app(settings))
    except (ManifestError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    served = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    if uds is not None:
        # Only a proxy on this host reaches a Unix socket: the public address is the proxy's.
        _check_socket_free(uds)
        click.echo(f"Serving {settings.site_dir}/ on unix:{uds} ({workers} worker(s))")
    else:
        _check_port_free(host, port)
        click.echo(f"Serving {settings.site_dir}/ on {served}/ ({workers} worker(s))")
    if uds is None and not settings.trusted_proxies:
        # Embedded: readers reach this socket, so SITE_PUBLIC_URL must name it. Behind a proxy
        # (SITE_TRUSTED_PROXIES) the public address is the proxy's: /readyz checks it there.
        warning = public_url_mismatch(settings.public_url, served)
        if warning:
            click.echo(f"warning: {warning}", err=True)
    # Granian (Rust HTTP core) answers the same ASGI app about 1.7x faster than uvicorn here
    # (35k vs 21k requests/s on the MAS page, one worker): see README, Benchmarks.
    Granian(
        "site_api.asgi:app",
        factory=True,
        address=host,
        port=port,
        uds=uds,
        # Owner and group only: a Unix socket's peer is trusted as a proxy when
        # SITE_TRUSTED_PROXIES lists "unix:", so no other local account may connect.
        uds_permissions=0o660 if uds is not None else None,
        interface=Interfaces.ASGI,
        workers=workers,
        log_level=LogLevels(settings.log_level),
        log_access=settings.log_level == "debug",
    ).serve()


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port another server listens on: two servers of different builds on one port
    would answer in turn (Granian's own socket would share it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "taken"
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}. Is another "
                "'site-api serve' running there? Stop it, or choose another --port."
            ) from None


def _check_socket_free(path: Path) -> None:
    """Refuse a Unix socket another server answers on; remove one a stopped server left behind
    (a socket file outlives its server, and binding over it fails)."""
    if not path.parent.is_dir():
        raise click.ClickException(f"cannot listen on unix:{path}: {path.parent} does not exist")
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_socket():
        raise click.ClickException(
            f"cannot listen on unix:{path}: a file that is not a socket is there"
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # nobody answers: a stale socket from a server that stopped
            return
    raise click.ClickException(
        f"cannot listen on unix:{path}: another server answers there. Is another 'site-api "
        "serve' running? Stop it, or choose another --uds."
    )


@main.command()
@click.option("--config-file", "-f", default="mkdocs.yml", show_default=True)
@click.option(
    "--full",
    is_flag=True,
    help="Render every page, reusing nothing from the live build (the result is the same).",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Stay running and publish again after every change to the sources, the theme or the "
    "config, each build in this process (its caches kept warm); a failed build leaves the live "
    "site as it was and the next save tries again.",
)
def build(config_file: str, full: bool, watch: bool) -> None:
    """Build the site strictly into a new build directory, then publish it in one atomic switch.

    Only pages whose inputs changed since the live build are rendered; the rest are hard-linked
    from it. Content errors are printed as path:line: field: message, all of them; a failed
    build leaves the live site exactly as it was.
    """
    settings = _settings()
    if watch:
        _publish_on_change(config_file, settings, full)
        return
    published = _build_and_publish(
        config_file, settings.site_dir, keep=settings.keep_builds, full=full
    )
    click.echo(f"published {published} as {settings.site_dir} (built by {_built_by(settings)})")


#: `site-api build --watch`'s exit status when our code changed on disk under it.
CODE_CHANGED_STATUS = 3


def _publish_on_change(config_file: str, settings: Settings, full: bool) -> None:
    """`site-api build --watch`: publish now, then after every change, until stopped."""
    from site_api.content.watch import code_digest, watch_and_rebuild, watched_paths
    from site_api.serving.builds import docs_dir_of

    code = code_digest()

    def publish(full: bool) -> None:
        started = time.monotonic()
        try:
            published = _build_and_publish(
                config_file,
                settings.site_dir,
                keep=settings.keep_builds,
                full=full,
                in_process=True,
            )
        except click.ClickException as exc:
            click.echo(f"not published: {exc.message}", err=True)
            return
        seconds = time.monotonic() - started
        click.echo(f"published {published} as {settings.site_dir} in {seconds:.1f} s", err=True)

    def rebuild() -> None:
        if code_digest() != code:
            click.echo(
                "the site's code changed on disk: stopping, so that no build mixes old and new "
                f"code (exit status {CODE_CHANGED_STATUS}); start 'site-api build --watch' again",
                err=True,
            )
            os._exit(CODE_CHANGED_STATUS)  # from the watch thread: the whole process
        publish(False)

    publish(full)
    config = Path(config_file)
    watched = watched_paths(config, docs_dir_of(config))

    def ready() -> None:
        click.echo(f"watching {', '.join(map(str, watched))}; stop with Ctrl-C", err=True)

    try:
        watch_and_rebuild(watched, rebuild, ready).join()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


def _build_and_publish(
    config_file: str,
    site_link: Path,
    quiet: bool = False,
    keep: int | None = None,
    full: bool = False,
    preview: bool = False,
    in_process: bool = False,
) -> Path:
    """Run strict MkDocs into a fresh build directory; switch `site_link` to it only on success.

    Unless `full`, the live build is named to the hook, which reuses its unchanged outputs
    (site_api/content/incremental.py). `quiet` keeps MkDocs' progress lines to itself (the
    preview); errors always reach the editor. `keep`: builds kept for rollback
    (`SITE_KEEP_BUILDS`; the default when None). `preview`: build drafts too, and never
    require approval (site_api/content/drafts.py). `in_process`: run the engine in this
    process (the preview's long-lived one, site_api/content/inprocess.py), not a child.
    """
    from site_api.config import approval_required
    from site_api.content.drafts import PREVIEW_ENV, REQUIRE_APPROVAL_ENV
    from site_api.content.engine import ENGINE_QUIET, check_build, check_outputs, engine_env
    from site_api.content.incremental import CACHE_ENV, REUSE_ENV
    from site_api.content.inprocess import EngineRun, run_build, settle
    from site_api.content.manifest import load_page_entries
    from site_api.search.index import SearchIndex
    from site_api.serving.builds import docs_dir_of, live_build, record_build
    from site_api.serving.pages import SiteIndex
    from site_api.serving.publishing import (
        KEEP_BUILDS,
        build_cache_dir,
        build_site_dir,
        new_build_dir,
        prune,
        prune_in_background,
        switch,
    )

    # Strict, and never -q: strict mode fails on warnings, and the editor must see them.
    command = [*_engine_command(), "build", "--strict", "-f", config_file]
    live = Path(os.path.realpath(site_link)) if site_link.is_symlink() else None
    build_dir = new_build_dir(site_link)
    site_dir = build_site_dir(build_dir, site_link)
    changes: dict[str, str | None] = {
        PREVIEW_ENV: "1" if preview else "0",
        REQUIRE_APPROVAL_ENV: "1" if approval_required(_settings()) else "0",
        CACHE_ENV: str(build_cache_dir(site_link)),
        REUSE_ENV: None,
    }
    dirty = live is not None and live.is_dir() and not full
    if dirty:
        # --dirty: MkDocs then skips what the hook marks unchanged (into an empty directory).
        changes[REUSE_ENV] = str(live)
        command.append("--dirty")
    if in_process:
        engine = _settings().build_engine
        result = run_build(engine, config_file, site_dir.resolve(), ENGINE_QUIET | changes, dirty)
    else:
        env = {k: v for k, v in (engine_env() | changes).items() if v is not None}
        done = subprocess.run(
            [*command, "-d", str(site_dir.resolve())], env=env, capture_output=True, text=True
        )
        result = EngineRun(done.returncode, done.stderr)
    errors = [line for line in result.stderr.splitlines() if _is_content_error(line)]
    if not quiet or result.returncode:
        # Each content error once: in the message below, not also in MkDocs' own output.
        sys.stderr.writelines(
            line
            for line in result.stderr.splitlines(keepends=True)
            if not _is_content_error(line) and not CONTENT_ERRORS_RE.search(line)
        )
    try:
        if result.returncode and not errors:
            # Not the content: the configuration or the engine (its own message is above).
            raise click.ClickException(
                f"the site was not built: {_engine_command()[-1]} stopped with status "
                f"{result.returncode} before any topic was checked (see its message above; "
                "the live site is unchanged)"
            )
        if result.returncode:
            files = len({line.split(":", 1)[0] for line in errors})
            raise click.ClickException(
                f"the site was not built ({len(errors)} content error(s) in {files} file(s); "
                "the live site is unchanged):\n" + "\n".join(errors)
            )
        check_outputs(site_dir)  # our hook ran; no static search index
        # What every server will do: refuse to publish what it refuses. Read once, checked twice.
        served = load_page_entries(site_dir)
        check_build(site_dir, _settings().build_engine, served)
        SiteIndex.load(site_dir, loaded=served)
        SearchIndex.check(site_dir)
    except (ManifestError, click.ClickException) as exc:
        shutil.rmtree(build_dir, ignore_errors=True)
        _prepare_next(site_link, in_process, quiet)  # the live build is still the base
        if isinstance(exc, ManifestError):
            raise click.ClickException(f"{exc} (the live site is unchanged)") from None
        raise
    was = live_build(site_link)
    note = switch(site_link, site_dir)
    if note:
        click.echo(note)
    # After the switch (at 30,000 topics, most of a second): a crash before it is written
    # leaves a published build that `site-api builds` lists without its revision and changes.
    record_build(build_dir, docs_dir_of(Path(config_file)), was)
    for write in result.after:  # the records a build run here kept for after publishing
        try:
            write()
        except OSError as exc:  # still in this process's memory: its next build has them
            click.echo(
                f"warning: a build record was not written ({exc}); a build by another process "
                "will render every page",
                err=True,
            )
    # A long-lived process's next build need not wait for the old builds to go.
    (prune_in_background if in_process else prune)(site_link, KEEP_BUILDS if keep is None else keep)
    if in_process:
        settle()  # published: now its garbage, not before
    _prepare_next(site_link, in_process, quiet)
    return build_dir


def _prepare_next(site_link: Path, in_process: bool, quiet: bool) -> None:
    """A long-lived builder: make the next build's directory from the live build while it waits
    for the next save (site_api/content/prepared.py). A one-shot build has no next build."""
    from site_api.content.prepared import prepare_in_background
    from site_api.serving.publishing import build_cache_dir

    def said(seconds: float) -> None:
        click.echo(f"prepared the next build in {seconds:.1f} s", err=True)

    if in_process and site_link.is_symlink():
        live = Path(os.path.realpath(site_link))
        prepare_in_background(
            build_cache_dir(site_link) / "next-build", live, None if quiet else said
        )


#: The hook's heading of its list of errors (site_api/content/mkdocs_hooks.py `_fail`).
CONTENT_ERRORS_RE = re.compile(r"\d+ content error\(s\) in \d+ file\(s\):$")


def _is_content_error(line: str) -> bool:
    """A `path:line: field: message` line of the hook's."""
    return re.match(r"\S+:\d+: ", line) is not None


def _engine_command() -> list[str]:
    """The chosen engine's command (SITE_BUILD_ENGINE), warning of versions never verified."""
    from site_api.content.engine import (
        EngineError,
        engine_command,
        installed_versions,
        require_engine,
        version_problems,
    )

    name = _settings().build_engine
    try:
        require_engine(name)
    except EngineError as exc:
        raise click.ClickException(str(exc)) from None
    for problem in version_problems(name, installed_versions()):
        click.echo(f"warning: {problem}", err=True)
    return engine_command(name)


def _built_by(settings: Settings) -> str:
    from site_api.content.engine import built_by

    return built_by(settings.site_dir.resolve())  # the link's build: its manifest is beside it


@main.command("builds")
def builds_command() -> None:
    """The kept builds, newest first: time, content revision, topics changed, which is live."""
    from site_api.serving.builds import kept_builds

    settings = _settings()
    kept = kept_builds(settings.site_dir)
    if not kept:
        raise click.ClickException(
            f"no kept builds beside {settings.site_dir}: run 'site-api build' first"
        )
    click.echo(f"{'build':<25} {'built (UTC)':<21} {'revision':<19} topics changed")
    for kept_build in kept:
        changes = "" if kept_build.changes is None else kept_build.changes.topics()
        live = "  (live)" if kept_build.live else ""
        click.echo(
            f"{kept_build.stamp:<25} {kept_build.built_at:<21} {kept_build.revision:<19} "
            f"{changes}{live}".rstrip()
        )


@main.command()
@click.option("--rollback", is_flag=True, help="Switch back to the kept build before the live one.")
@click.option(
    "--to", "stamp", metavar="BUILD", help="Switch to this kept build (see site-api builds)."
)
def publish(rollback: bool, stamp: str | None) -> None:
    """Make a kept build live again, in the same atomic switch as a build; servers follow it."""
    from site_api.search.index import SearchIndex
    from site_api.serving.builds import BuildError, live_build, rollback_target
    from site_api.serving.pages import SiteIndex
    from site_api.serving.publishing import build_site_dir, switch

    if rollback == (stamp is not None):
        raise click.UsageError("say which build: --rollback, or --to BUILD (see 'site-api builds')")
    settings = _settings()
    link = settings.site_dir
    try:
        target = rollback_target(link, stamp)
        site_dir = build_site_dir(target.path, link)
        SiteIndex.load(site_dir)  # what every server will do: refuse to publish what it refuses
        SearchIndex.check(site_dir)
    except (BuildError, ManifestError) as exc:
        raise click.ClickException(f"{exc} (the live site is unchanged)") from None
    before = live_build(link)
    switch(link, site_dir)
    was = f" (was {before.name})" if before is not None else ""
    click.echo(f"published {target.stamp} as {link}{was}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    default=None,
    type=click.IntRange(1, 65535),
    help="Port to listen on [default: SITE_PREVIEW_PORT, 8001].",
)
@click.option("--config-file", "-f", default="mkdocs.yml", show_default=True)
@click.option(
    "--unsafe-expose",
    is_flag=True,
    help="Allow a --host other than loopback: every draft readable from the network; "
    "the signed-in view is then off.",
)
def preview(host: str, port: int | None, config_file: str, unsafe_expose: bool) -> None:
    """Preview while you edit: rebuild on save, reload the tab, view through the real gate."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    from site_api.content.watch import watch_and_rebuild, watched_paths
    from site_api.db import upgrade
    from site_api.preview.app import ERROR_FILE, preview_dir, preview_settings
    from site_api.preview.guard import is_loopback
    from site_api.serving.builds import docs_dir_of

    port = port or _settings().preview_port
    if not is_loopback(host):
        if not unsafe_expose:
            raise click.ClickException(
                f"--host {host} would show every draft to anyone who can reach this machine. "
                "Use the default 127.0.0.1, or add --unsafe-expose if you really mean it."
            )
        click.echo(
            f"WARNING: the preview listens on {host}: every draft is readable by anyone who can "
            "reach this machine on port "
            f"{port}. The signed-in view is off (it would sign in without a password); open the "
            "preview by its IP address (other names are refused).",
            err=True,
        )
    base = _settings()
    try:
        settings = preview_settings(base)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    _check_port_free(host, port)
    preview_dir(base).mkdir(parents=True, exist_ok=True)
    error_file = preview_dir(base) / ERROR_FILE
    error_file.unlink(missing_ok=True)
    # The preview's builds are never rolled back to: the live one and the one before suffice.
    _build_and_publish(
        config_file, settings.site_dir, keep=PREVIEW_KEEP_BUILDS, preview=True, in_process=True
    )
    upgrade(settings.database_url)
    config = Path(config_file)
    watched = watched_paths(config, docs_dir_of(config))

    def rebuild() -> None:
        started = time.monotonic()
        try:
            _build_and_publish(
                config_file,
                settings.site_dir,
                True,
                PREVIEW_KEEP_BUILDS,
                preview=True,
                in_process=True,
            )
        except click.ClickException as exc:
            error_file.write_text(exc.message, encoding="utf-8")
            click.echo(f"preview: build failed, still showing the last good one: {exc.message}")
            return
        error_file.unlink(missing_ok=True)
        click.echo(f"preview: rebuilt and swapped in {time.monotonic() - started:.1f} s")

    watch_and_rebuild(watched, rebuild)
    os.environ.update(
        {
            "SITE_SITE_DIR": str(settings.site_dir),
            "SITE_DATABASE_URL": settings.database_url,
            "SITE_PUBLISH_CHECK_SECONDS": str(settings.publish_check_seconds),
        }
    )
    click.echo(f"Preview on http://{host}:{port}/ (watching {', '.join(map(str, watched))})")
    Granian(
        "site_api.preview.app:preview_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        log_level=LogLevels(base.log_level),
    ).serve()


def _topic_sources(content: Path) -> tuple[list[SourcePage], list[str]]:
    from site_api.content.sources import topic_sources

    return topic_sources(content)


@main.command()
@click.argument("title")
@click.option(
    "--author",
    "authors",
    multiple=True,
    help="Author key from content/authors.yml; repeat for each author (asked when in a terminal).",
)
@click.option(
    "--section",
    default=None,
    help="Section key from content/sections.yml (asked when in a terminal).",
)
@click.option("--content-dir", default="content", show_default=True, type=click.Path())
@click.option(
    "--preview-url",
    default=None,
    help="Address of the preview [default: http://127.0.0.1:SITE_PREVIEW_PORT].",
)
def new(
    title: str,
    authors: tuple[str, ...],
    section: str | None,
    content_dir: str,
    preview_url: str | None,
) -> None:
    """Start a draft topic: content/topics/<slug>.md with valid front matter, never overwriting."""
    from site_api.content.browse import fold
    from site_api.content.currency import new_topic_text, slug_for
    from site_api.content.model import TopicMeta, load_authors, load_sections

    settings = _settings()
    content = Path(content_dir)
    slug = slug_for(title)
    if not slug:
        raise click.ClickException(f"title {title!r} gives no usable id: use letters or digits")
    path = content / TOPICS / f"{slug}.md"
    if path.exists():
        raise click.ClickException(f"{path} already exists: edit it, or choose another title")
    existing, _ = _topic_sources(content)
    same_id = [p.path for p in existing if p.meta.id == slug]
    if same_id:
        raise click.ClickException(
            f"{same_id[0]} already has the id '{slug}': choose another title"
        )
    for page in existing:
        meta = page.meta
        if not isinstance(meta, TopicMeta):
            continue
        for kind, name in [("title", meta.title)] + [("an alias", a) for a in meta.aliases]:
            if fold(name) == fold(title):
                raise click.ClickException(
                    f"'{title}' is already {kind} of '{meta.title}' ({page.path}): readers "
                    "could not tell the two apart in the A–Z; choose another title"
                )
    authors_file = content / "authors.yml"
    known = load_authors(str(authors_file), authors_file.read_text(encoding="utf-8"))
    if isinstance(known, list):
        raise click.ClickException("\n".join(str(e) for e in known))
    sections_file = content / "sections.yml"
    sections = load_sections(str(sections_file), sections_file.read_text(encoding="utf-8"))
    if isinstance(sections, list):
        raise click.ClickException("\n".join(str(e) for e in sections))
    author_keys = ", ".join(sorted(known))
    section_keys = ", ".join(sorted(sections))
    if (not authors or section is None) and not sys.stdin.isatty():
        missing = []
        if not authors:
            missing.append(f"--author KEY (repeat for each; keys of {authors_file}: {author_keys})")
        if section is None:
            missing.append(f"--section KEY (keys of {sections_file}: {section_keys})")
        raise click.ClickException("missing " + " and ".join(missing))
    if not authors:
        click.echo(f"Authors ({authors_file}): {author_keys}")
        authors = _ask_keys("Author keys, separated by spaces", set(known))
    unknown = [a for a in authors if a not in known]
    if unknown:
        raise click.ClickException(
            f"unknown author {', '.join(unknown)}: use a key of {authors_file} ({author_keys})"
        )
    if section is None:
        click.echo(f"Sections ({sections_file}): {section_keys}")
        section = _ask_keys("Section key", set(sections), one=True)[0]
    if section not in sections:
        raise click.ClickException(
            f"unknown section {section}: use a key of {sections_file} ({section_keys})"
        )
    text = new_topic_text(
        title, list(authors), section, date.today(), settings.review_interval_days
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as out:  # "x": never overwrite, even in a race
        out.write(text)
    base = preview_url or f"http://127.0.0.1:{settings.preview_port}"
    click.echo(f"created {path} (status: draft: built into the preview only until you publish it)")
    click.echo(f"preview: {base.rstrip('/')}/{TOPICS}/{slug}/  (run: site-api preview)")


def _ask_keys(question: str, allowed: set[str], one: bool = False) -> tuple[str, ...]:
    """Ask in the terminal until every key given is one of `allowed` (and one only if `one`)."""
    while True:
        answer = click.prompt(question).replace(",", " ").split()
        wrong = [a for a in answer if a not in allowed]
        if answer and not wrong and (len(answer) == 1 or not one):
            return tuple(dict.fromkeys(answer))
        click.echo(f"not a key: {', '.join(wrong)}" if wrong else "give exactly one key")


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--by", "approver", required=True, help="Author key (content/authors.yml) of the approver."
)
@click.option("--content-dir", default="content", show_default=True, type=click.Path())
def approve(path: Path, approver: str, content_dir: str) -> None:
    """Record a second clinician's approval of a topic as it stands (who, today, a fingerprint)."""
    from site_api.content.approval import ApproveError, write_approval
    from site_api.content.model import load_authors
    from site_api.content.references import REFERENCES_FILE, load_library

    authors_file = Path(content_dir) / "authors.yml"
    known = load_authors(str(authors_file), authors_file.read_text(encoding="utf-8"))
    if isinstance(known, list):
        raise click.ClickException("\n".join(str(e) for e in known))
    library_file = Path(content_dir) / REFERENCES_FILE
    library, problems = load_library(
        str(library_file),
        library_file.read_text(encoding="utf-8") if library_file.is_file() else "{}\n",
    )
    if problems:
        raise click.ClickException("\n".join(str(e) for e in problems))
    text = path.read_text(encoding="utf-8")
    try:
        approved = write_approval(text, str(path), approver, known, date.today(), library.entries)
    except ApproveError as exc:
        raise click.ClickException(str(exc)) from None
    path.write_text(approved, encoding="utf-8")
    click.echo(
        f"approved {path} by {known[approver].name} ({approver}) on {date.today().isoformat()}: "
        "any later change to its title, summary, body or references needs a new approval"
    )


@main.command()
@click.option("--within", default=90, show_default=True, type=click.IntRange(0, 3650))
@click.option("--fail-overdue", is_flag=True, help="Exit with status 1 when any topic is overdue.")
@click.option("--content-dir", default="content", show_default=True, type=click.Path())
def review(within: int, fail_overdue: bool, content_dir: str) -> None:
    """Topics overdue for review or due within --within days, soonest first."""
    from site_api.content.currency import due_for_review, due_label, long_date
    from site_api.content.sources import content_authors

    pages, problems = _topic_sources(Path(content_dir))
    for problem in problems:
        click.echo(f"skipped: {problem}", err=True)
    due = due_for_review(pages, date.today(), within, content_authors(Path(content_dir)))
    if not due:
        click.echo(f"No topic is overdue or due within {within} days.")
    for item in due:
        when = due_label(item.days_overdue)
        click.echo(
            f"{item.due.isoformat()}  {when:<18}  {item.title}  ({item.path}; "
            f"{', '.join(item.authors)}; {long_date(item.due)})"
        )
    overdue = sum(1 for item in due if item.days_overdue > 0)
    if overdue:
        click.echo(f"{overdue} topic(s) overdue for review", err=True)
        if fail_overdue:
            sys.exit(1)


@main.command()
@click.option("--doi", help="The work's DOI, e.g. 10.1002/art.39332 (looked up at Crossref).")
@click.option("--pmid", help="The work's PubMed id, e.g. 28562511 (looked up at PubMed).")
@click.option("--content-dir", default="content", show_default=True, type=click.Path())
def cite(doi: str | None, pmid: str | None, content_dir: str) -> None:
    """Print a reference library entry for a work, from its Crossref or PubMed record."""
    from site_api.content import cite as lookup
    from site_api.content.references import REFERENCES_FILE, load_library

    if (doi is None) == (pmid is None):
        raise click.UsageError("give --doi or --pmid (one of them)")
    settings = _settings()
    library_file = Path(content_dir) / REFERENCES_FILE
    text = library_file.read_text(encoding="utf-8") if library_file.is_file() else ""
    library, _ = load_library(str(library_file), text)

    def known_as(found_doi: str | None, found_pmid: str | None) -> str | None:
        for key, entry in library.entries.items():
            if found_doi and entry.doi and entry.doi.lower() == found_doi.lower():
                return key
            if found_pmid and entry.pmid == found_pmid:
                return key
        return None

    wanted_doi = lookup.normal_doi(doi) if doi is not None else None
    wanted_pmid = lookup.normal_pmid(pmid) if pmid is not None else None
    if doi is not None and wanted_doi is None:
        raise click.UsageError(f"--doi {doi!r} is not a DOI (10.NNNN/suffix, no spaces)")
    if pmid is not None and wanted_pmid is None:
        raise click.UsageError(f"--pmid {pmid!r} is not a PubMed id (digits only)")
    # A work the library holds needs no lookup (and none while offline); one found by its other
    # identifier is caught after the lookup.
    key = known_as(wanted_doi, wanted_pmid)
    if key is None:
        try:
            if wanted_doi is not None:
                record = lookup.crossref(
                    wanted_doi, settings.crossref_url, settings.cite_timeout_seconds
                )
            else:
                assert wanted_pmid is not None
                record = lookup.pubmed(
                    wanted_pmid, settings.ncbi_eutils_url, settings.cite_timeout_seconds
                )
        except lookup.CiteError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.code)
        key = known_as(record.doi, record.pmid)
    if key is not None:
        click.echo(f"already in {library_file} as '{key}': cite it as [@{key}]")
        return
    click.echo(f"# From {'Crossref' if doi else 'PubMed'}: check it against the article, then add")
    click.echo(f"# it to {library_file} and cite it as [@key].")
    click.echo(lookup.entry_yaml(lookup.suggested_key(record, library.known()), record), nl=False)


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
@click.option(
    "--queries",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of 'query<TAB>page id' lines: print rank-1, top-3 and missing for the live "
    "build's search, for a signed-in and an anonymous reader, instead of unanswered searches.",
)
def search_report(days: int, limit: int, queries: Path | None) -> None:
    """The queries readers searched for most and found nothing (count, tab, normalised query);
    with --queries, how well search ranks the topic meant for each query of a file."""
    if queries is not None:
        _search_quality(queries)
        return
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


def _search_quality(path: Path) -> None:
    from site_api.search.index import EVERY_BODY, FREE_BODIES_ONLY, SearchIndex, SearchIndexError
    from site_api.search.quality import QueryFileError, measure, read_pairs

    site = _settings().site_dir
    try:
        index = SearchIndex.for_site(site.resolve())
        pairs = read_pairs(path, index.page_ids())
    except (SearchIndexError, QueryFileError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"# search quality: {len(pairs)} queries from {path}, build {site.resolve()}")
    click.echo("reader\trank-1\ttop-3\tmissing")
    results = {
        name: measure(index, pairs, reader)
        for name, reader in (("signed-in", EVERY_BODY), ("anonymous", FREE_BODIES_ONLY))
    }
    for name, quality in results.items():
        click.echo(
            f"{name}\t{quality.share(1):.1%}\t{quality.share(3):.1%}\t{len(quality.missing)}"
        )
    for name, quality in results.items():
        for outcome in quality.outcomes:
            if outcome.rank != 1:
                rank = outcome.rank or "missing"
                click.echo(
                    f"# {name}: {outcome.query!r} → {outcome.expected}: {rank} "
                    f"(first: {outcome.first})"
                )


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
@click.option("--editor", is_flag=True, help="The account may use the editorial desk.")
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
    click.echo(f"created {created.role} account {created.email} (email address confirmed)")


@user.command("role")
@click.argument("email")
@click.argument("role", type=click.Choice(["editor", "reader"]))
def user_role(email: str, role: str) -> None:
    """Make an account an editor (the editorial desk at /editorial/) or a reader again."""
    from sqlalchemy.exc import SQLAlchemyError

    from site_api.accounts import users

    settings = _settings()
    try:
        changed = users.set_role(_engine_for(settings), email, role)
    except users.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"database at {settings.database_url}: {exc}") from None
    click.echo(f"{changed.email} is now {'an editor' if role == 'editor' else 'a reader'}")


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
        flags += ["editor"] if row.role == "editor" else []
        flags += [] if row.password_hash else ["single sign-on only"]
        click.echo(f"{row.email}\t{row.created_at:%Y-%m-%d}\t{', '.join(flags)}")
