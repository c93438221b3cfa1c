"""The embedded server: pages by canonical URL, static assets, 404s, and refusal to start unbuilt."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, copy_build, raw_request
from servers import start, stop, wait_http

from site_api.config import Settings
from site_api.content.manifest import ManifestError, manifest_path_for
from site_api.content.search_index import search_index_path_for
from site_api.serving.pages import canonical_path
from site_api.web.app import create_app

MAS = "/topics/macrophage-activation-syndrome/"


def test_topic_page_is_served_with_headers(client: httpx.Client) -> None:
    response = client.get(MAS)
    assert response.status_code == 200
    assert "Macrophage activation syndrome" in response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"].startswith("private")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["vary"] == "Cookie"
    # The countdown makes every anonymous page personal: no validator a shared cache could reuse.
    assert "etag" not in response.headers and "last-modified" not in response.headers


def test_head_has_no_body(client: httpx.Client) -> None:
    response = client.head(MAS)
    assert response.status_code == 200 and response.content == b""


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("/topics/macrophage-activation-syndrome", 301),
        ("/topics/macrophage-activation-syndrome/index.html", 301),
        ("/topics/Macrophage-Activation-Syndrome/", 301),
        ("/TOPICS/MACROPHAGE-ACTIVATION-SYNDROME/INDEX.HTML", 301),
        ("/topics/./macrophage-activation-syndrome/", 301),
        ("//topics/macrophage-activation-syndrome/", 301),
        ("/topics//macrophage-activation-syndrome/", 301),
        ("/topics/x/../macrophage-activation-syndrome/", 301),
        ("/topics/macrophage-activation-syndrome%2Findex.html", 301),
        ("/topics/%4dacrophage-activation-syndrome/", 301),
        # Decodes to exactly the canonical path: served as that page, no redirect needed.
        ("/topics/macrophage%2Dactivation%2Dsyndrome/", 200),
        ("/topics/macrophage-activation-syndrome/?utm_source=x", 200),
    ],
)
def test_url_variants_reach_the_one_canonical_page(
    live_server: str, variant: str, expected: int
) -> None:
    status, headers, body = raw_request(live_server, "GET", variant)
    assert status == expected, variant
    if expected == 301:
        assert headers["location"] == MAS
    else:
        assert b'<h1 id="topic-title" tabindex="-1">Macrophage activation syndrome</h1>' in body


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/", "/"),
        ("/index.html", "/"),
        ("/ABOUT", "/about/"),
        ("//about//", "/about/"),
        ("/a\\b", "/a/b/"),
    ],
)
def test_canonical_path(raw: str, canonical: str) -> None:
    assert canonical_path(raw) == canonical


def test_fingerprinted_assets_cache_for_a_year_and_answer_range(
    client: httpx.Client, built_site: Path
) -> None:
    bundle = next((built_site / "assets" / "javascripts").glob("bundle.*.min.js"))
    url = "/assets/javascripts/" + bundle.name
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["etag"] and response.headers["last-modified"]
    partial = client.get(url, headers={"range": "bytes=0-9"})
    assert partial.status_code == 206 and len(partial.content) == 10
    cached = client.get(url, headers={"if-none-match": response.headers["etag"]})
    assert cached.status_code == 304


def test_unfingerprinted_assets_revalidate(client: httpx.Client) -> None:
    response = client.get("/assets/stylesheets/site.css")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/no-such-topic/",
        "/topics/macrophage-activation-syndrome.md",
        "/content/topics/macrophage-activation-syndrome.md",
        "/site-manifest.json",
        "/../site-manifest.json",
        "/%2e%2e/site-manifest.json",
        "/404.html",
        "/authors.yml",
    ],
)
def test_unknown_paths_sources_and_manifest_are_404(client: httpx.Client, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 404
    assert "This site is intended for healthcare professionals" in response.text
    assert "Macrophage activation syndrome (MAS) is" not in response.text


def test_create_app_refuses_an_unbuilt_site(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no built site"):
        create_app(Settings(site_dir=tmp_path / "site", var_dir=tmp_path / "var"))


@pytest.fixture
def site_copy(built_site: Path, tmp_path: Path) -> Path:
    site = tmp_path / "site"
    copy_build(built_site, site)
    shutil.copy(search_index_path_for(built_site), search_index_path_for(site))
    return site


def test_create_app_refuses_missing_or_corrupt_manifest(site_copy: Path, tmp_path: Path) -> None:
    settings = Settings(site_dir=site_copy, var_dir=tmp_path / "var")
    manifest = manifest_path_for(site_copy)
    manifest.write_text('{"version": 1, "pages": [{"id": "x"}]}')
    with pytest.raises(ManifestError, match="is corrupt"):
        create_app(settings)
    manifest.write_text("not json")
    with pytest.raises(ManifestError, match="is corrupt"):
        create_app(settings)
    manifest.unlink()
    with pytest.raises(ManifestError, match="is missing"):
        create_app(settings)


def test_create_app_refuses_missing_or_corrupt_search_index(
    site_copy: Path, tmp_path: Path
) -> None:
    settings = Settings(site_dir=site_copy, var_dir=tmp_path / "var")
    index = search_index_path_for(site_copy)
    index.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(ManifestError, match=r"site-search.sqlite is corrupt .*make build"):
        create_app(settings)
    index.write_text("not a database")
    with pytest.raises(ManifestError, match=r"is corrupt .*make build"):
        create_app(settings)
    index.unlink()
    with pytest.raises(ManifestError, match=r"site-search.sqlite is missing: rebuild"):
        create_app(settings)


def test_serve_command_exits_with_a_clear_message_when_unbuilt(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SITE_SITE_DIR": str(tmp_path / "site"),
        "SITE_VAR_DIR": str(tmp_path / "var"),
    }
    result = subprocess.run(
        [str(Path(sys.executable).with_name("site-api")), "serve", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no built site in" in result.stderr and "make build" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_on_a_unix_socket_refuses_one_in_use_and_a_plain_file(
    built_site: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "SITE_SITE_DIR": str(built_site), "SITE_VAR_DIR": str(tmp_path / "var")}
    site_api = str(Path(sys.executable).with_name("site-api"))
    busy, plain = tmp_path / "busy.sock", tmp_path / "plain.sock"
    plain.write_text("not a socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as other:
        other.bind(str(busy))
        other.listen()
        for path, message in (
            (busy, "another server answers there"),
            (plain, "a file that is not a socket is there"),
        ):
            result = subprocess.run(
                [site_api, "serve", "--uds", str(path)],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )
            assert result.returncode == 1 and message in result.stderr, result.stderr
            assert "Traceback" not in result.stderr
    assert plain.read_text() == "not a socket"  # never removed
    # The socket a stopped server left behind (nobody answers) is replaced, and served on.
    assert busy.is_socket()
    proc = start([site_api, "serve", "--uds", str(busy)], tmp_path / "serve.log", env)
    try:
        wait_http("http://api/healthz", proc, tmp_path / "serve.log", uds=busy)
    finally:
        stop(proc)


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`SITE_{name.upper()}`" in readme, (
            f"SITE_{name.upper()} is not documented in README.md"
        )


def test_postgres_pool_is_sized_by_the_setting() -> None:
    from sqlalchemy.pool import QueuePool

    from site_api.db import make_engine

    engine = make_engine("postgresql+psycopg://site@127.0.0.1:1/site", pool_size=3)
    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.size() == 3 and engine.pool._max_overflow == 3  # at most 6 per worker
    engine.dispose()
