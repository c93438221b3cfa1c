"""SITE_PUBLIC_URL checked against the address served (issue 24, item 10): the rule, /readyz
(directly and through a trusted proxy), and `site-api serve`'s warning at start-up."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY
from servers import SITE_API, free_port, start, stop, wait_http

from site_api.config import Settings, address_reached, public_url_mismatch
from site_api.web.app import create_app


@pytest.mark.parametrize(
    ("public", "served"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:8000", "http://127.0.0.1:8000"),  # loopback names agree
        ("http://[::1]:8000", "http://127.0.0.1:8000"),
        ("http://notebook.example.org:8000", "http://0.0.0.0:8000"),  # every interface
        ("https://notebook.example.org", "https://notebook.example.org:443"),  # default port
        ("HTTPS://Notebook.Example.org", "https://notebook.example.org"),
    ],
)
def test_addresses_that_agree(public: str, served: str) -> None:
    assert public_url_mismatch(public, served) is None


@pytest.mark.parametrize(
    ("public", "served"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8950"),  # the case: another port
        ("http://notebook.example.org", "https://notebook.example.org"),  # scheme
        ("https://notebook.example.org", "https://other.example.org"),  # host
        ("http://127.0.0.1:8000", "http://192.0.2.7:8000"),  # served beyond loopback
    ],
)
def test_addresses_that_do_not(public: str, served: str) -> None:
    warning = public_url_mismatch(public, served)
    assert warning is not None
    assert public in warning and served in warning and "Set SITE_PUBLIC_URL" in warning


@pytest.mark.parametrize("public", ["notebook.example.org", "ftp://x.example.org", "http://:80"])
def test_a_public_url_that_is_not_an_address_is_named(public: str) -> None:
    warning = public_url_mismatch(public, "http://127.0.0.1:8000")
    assert warning is not None and "not an http(s) address" in warning


def test_what_a_request_reached() -> None:
    assert (
        address_reached("http", "127.0.0.1:8950", "127.0.0.1", None, []) == "http://127.0.0.1:8950"
    )
    # Through a trusted proxy: its Host and scheme; a probe past the proxy tells nothing.
    assert (
        address_reached("http", "notebook.example.org", "10.0.0.2", "https", ["10.0.0.2"])
        == "https://notebook.example.org"
    )
    assert address_reached("http", "127.0.0.1:8000", "127.0.0.1", None, ["10.0.0.2"]) is None
    # A client's own X-Forwarded-Proto is not believed.
    assert (
        address_reached("http", "a.example.org", "192.0.2.9", "https", []) == "http://a.example.org"
    )


@pytest.fixture
def make_client(
    built_site: Path, tmp_path: Path, migrated_db: Path
) -> Iterator[Callable[..., httpx.Client]]:
    """make_client(public_url, base_url, trusted_proxies) -> a TestClient on a fresh app."""
    from fastapi.testclient import TestClient

    clients: list[TestClient] = []

    def make(public_url: str, base_url: str, trusted: list[str] | None = None) -> httpx.Client:
        var = tmp_path / uuid.uuid4().hex
        var.mkdir()
        shutil.copy(migrated_db, var / "site.db")
        settings = Settings(
            site_dir=built_site,
            var_dir=var,
            secret_key=TEST_KEY,
            public_url=public_url,
            trusted_proxies=trusted or [],
        )
        client = TestClient(create_app(settings), base_url=base_url)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_readyz_warns_when_the_public_url_is_not_the_address_reached(
    make_client: Callable[..., httpx.Client],
) -> None:
    """Still 200 (the site serves), with a `public_url` warning naming both addresses."""
    wrong = make_client("http://127.0.0.1:8000", "http://127.0.0.1:8950").get("/readyz")
    assert wrong.status_code == 200
    body = wrong.json()
    assert body["status"] == "ok"
    assert "http://127.0.0.1:8000" in body["public_url"]
    assert "http://127.0.0.1:8950" in body["public_url"]

    right = make_client("http://127.0.0.1:8950", "http://127.0.0.1:8950").get("/readyz")
    assert right.json() == {"status": "ok", "database": "ok"}


def test_readyz_behind_a_trusted_proxy_compares_what_the_proxy_passed_on(
    make_client: Callable[..., httpx.Client],
) -> None:
    """nginx passes the reader's Host and X-Forwarded-Proto (deploy/nginx.conf); the test
    client's peer is "testclient"."""
    headers = {"host": "notebook.example.org", "x-forwarded-proto": "https"}
    proxied = make_client("https://notebook.example.org", "http://127.0.0.1:8000", ["testclient"])
    assert "public_url" not in proxied.get("/readyz", headers=headers).json()
    stale = make_client("http://127.0.0.1:8000", "http://127.0.0.1:8000", ["testclient"])
    warning = stale.get("/readyz", headers=headers).json()["public_url"]
    assert "https://notebook.example.org" in warning
    # A probe that did not come through the proxy cannot know readers' address: no warning.
    direct = make_client("https://notebook.example.org", "http://127.0.0.1:8000", ["10.9.9.9"])
    assert "public_url" not in direct.get("/readyz").json()


@pytest.mark.parametrize("matching", [False, True], ids=["unset", "set"])
def test_serve_warns_at_start_up(built_site: Path, tmp_path: Path, matching: bool) -> None:
    """`site-api serve` on another port without SITE_PUBLIC_URL says so at start-up and on
    /readyz; with SITE_PUBLIC_URL set to its address, it says nothing."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "SITE_PUBLIC_URL" and k != "SITE_TRUSTED_PROXIES"
    }
    env.update(
        SITE_SITE_DIR=str(built_site),
        SITE_VAR_DIR=str(tmp_path / "var"),
        SITE_DATABASE_URL="",
        SITE_SECRET_KEY=TEST_KEY,
    )
    if matching:
        env["SITE_PUBLIC_URL"] = base
    proc = start([SITE_API, "serve", "--port", str(port)], log, env)
    try:
        wait_http(base + "/healthz", proc, log, timeout=60)
        ready = httpx.get(base + "/readyz").json()
    finally:
        stop(proc)
    output = log.read_text(encoding="utf-8")
    if matching:
        assert "warning: SITE_PUBLIC_URL" not in output
        assert "public_url" not in ready
    else:
        assert (
            f"warning: SITE_PUBLIC_URL is http://127.0.0.1:8000 but this server is reached at "
            f"{base}" in output
        ), output
        assert base in ready["public_url"]


def test_a_build_given_the_public_url_prints_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paper copies and canonical links carry the SITE_PUBLIC_URL the build was given."""
    from conftest import ROOT, mkdocs_build

    monkeypatch.setenv("SITE_PUBLIC_URL", "https://notebook.example.org/")
    site = tmp_path / "site"
    result = mkdocs_build(ROOT / "mkdocs.yml", site)
    assert result.returncode == 0, result.stderr
    html = (site / "topics" / "macrophage-activation-syndrome" / "index.html").read_text()
    address = "https://notebook.example.org/topics/macrophage-activation-syndrome/"
    assert f"Clinical Notebook · {address} · Printed" in html
    assert f'<link rel="canonical" href="{address}">' in html
