"""Shared fixtures: one real build of the site per session, a live server, a real Chromium."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import CHROMIUM, CHROMIUM_ARGS, SITE_API, free_port, start, stop, wait_http
from sqlalchemy import Engine

from site_api.calculators.artifact import calculators_path_for
from site_api.config import BuildEngineName, Settings
from site_api.content.engine import engine_command, engine_env
from site_api.content.manifest import manifest_path_for
from site_api.content.search_index import search_index_path_for
from site_api.db import make_engine, upgrade
from site_api.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
#: The throwaway PostgreSQL cluster's fixtures (loaded after this module, so they can use it).
pytest_plugins = ["pg"]

#: The live server's cookie-signing key, so tests can forge what a real visitor's browser holds.
TEST_KEY = "test-key-" + "x" * 40


def require(available: bool, what: str) -> None:
    """Skip when a real component is missing, except in CI, where a missing one fails the run."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing in CI: 'make test' should have installed it")
    pytest.skip(f"{what} is missing (make test installs it)")


HOOK = "site_api/content/mkdocs_hooks.py"


def copy_config(root: Path) -> Path:
    """The project's mkdocs.yml and theme in `root`, the hook named by its path in this checkout.

    (A copy of the hook beside the copied config would make `root/site_api` a namespace package
    that hides the real one from the hook's imports.)
    """
    shutil.copytree(ROOT / "theme", root / "theme")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert HOOK in config, f"mkdocs.yml no longer names {HOOK}"
    (root / "mkdocs.yml").write_text(config.replace(HOOK, str(ROOT / HOOK)), encoding="utf-8")
    return root / "mkdocs.yml"


def copy_project(root: Path) -> Path:
    """A copy of the real content with the project's config and theme in `root`; returns it."""
    shutil.copytree(ROOT / "content", root / "content")
    copy_config(root)
    return root


def copy_build(built_site: Path, site: Path) -> None:
    """A copy of a build: its site directory and the artifacts beside it (manifest, search index)."""
    shutil.copytree(built_site, site)
    for artifact in (manifest_path_for, search_index_path_for, calculators_path_for):
        shutil.copy(artifact(built_site), artifact(site))


def mkdocs_build(
    config: Path,
    site_dir: Path,
    engine: BuildEngineName | None = None,
    python: str = sys.executable,
) -> subprocess.CompletedProcess[str]:
    """Run a strict build as an editor would, capturing what they would read; the engine is
    SITE_BUILD_ENGINE's unless given, run by `python` (another environment's, for ProperDocs)."""
    env = engine_env()
    return subprocess.run(
        [
            *engine_command(engine or Settings().build_engine, python),
            "build",
            "--strict",
            "-f",
            str(config),
            "-d",
            str(site_dir),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=config.parent,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real content, built once for the session; returns the site directory."""
    site = tmp_path_factory.mktemp("build") / "site"
    result = mkdocs_build(ROOT / "mkdocs.yml", site)
    assert result.returncode == 0, result.stderr
    return site


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database at the newest schema, migrated once and copied per test."""
    path = tmp_path_factory.mktemp("db") / "site.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def settings(
    request: pytest.FixtureRequest, built_site: Path, tmp_path: Path, migrated_db: Path
) -> Settings:
    """The API's settings over a fresh database at the newest schema: SQLite, then PostgreSQL."""
    var = tmp_path / "var"
    var.mkdir()
    database_url = ""  # the default: var/site.db
    if request.param == "postgres":
        database_url = request.getfixturevalue("postgres_database")
    else:
        shutil.copy(migrated_db, var / "site.db")
    return Settings(
        site_dir=built_site, var_dir=var, secret_key=TEST_KEY, database_url=database_url
    )


@pytest.fixture
def engine(settings: Settings) -> Engine:
    """An engine on the `settings` fixture's database."""
    return make_engine(settings.database_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[httpx.Client]:
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


def raw_request(
    base: str, method: str, target: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Send the request target byte for byte: httpx would normalise dots and escapes first."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request(method, target, headers=headers or {})
    response = connection.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


@pytest.fixture(scope="session")
def live_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live server's var/ (its database and, with no SMTP host, its outbox)."""
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
def live_server(built_site: Path, live_var: Path) -> Iterator[str]:
    """`site-api serve` as a real process on loopback; yields its base URL."""
    log_path = live_var.parent / "live_server.log"  # a JSON access log line per request
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SITE_SITE_DIR": str(built_site),
        "SITE_VAR_DIR": str(live_var),
        "SITE_DATABASE_URL": "",
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_PUBLIC_URL": base,
    }
    proc = start([SITE_API, "serve", "--port", str(port)], log_path, env)
    try:
        wait_http(base + "/", proc, log_path, timeout=60)
        yield base
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (Playwright's own browser download is not used)."""
    require(Path(CHROMIUM).exists(), f"Chromium ({CHROMIUM}, Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (a new visitor) and page per test, closed afterwards."""
    context = browser.new_context()  # type: ignore[attr-defined]
    try:
        yield context.new_page()
    finally:
        context.close()


def inject_axe(page: Any, source: str) -> None:
    """Load axe-core into the page by the DevTools protocol: the site's CSP (rightly) blocks an
    inline <script> that is not one of its own, so `add_script_tag` cannot be used."""
    page.evaluate(source)
    assert page.evaluate("typeof axe") == "object"


def serious_axe_findings(page: Any, source: str) -> list[str]:
    """What axe finds serious or critical on the page as it is now, one line each."""
    inject_axe(page, source)
    violations = page.evaluate("async () => (await axe.run()).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core from npm (installed by `make test` with `npm ci`)."""
    path = ROOT / "node_modules" / "axe-core" / "axe.min.js"
    require(path.is_file() and shutil.which("node") is not None, "npm package axe-core")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def body_text(built_site: Path) -> str:
    """A sentence from the gated topic's body, to prove it never leaks."""
    html = (built_site / "topics" / "cytokine-release-syndrome" / "index.html").read_text()
    first = re.search(r'class="topic-body">.*?<p>(.*?)</p>', html, re.S)
    assert first
    return re.sub(r"<[^>]+>", "", first.group(1))[:60]
