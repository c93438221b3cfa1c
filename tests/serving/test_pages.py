"""Built pages come from disk through a bounded cache: memory does not grow with the catalogue,
and a page whose file has gone is a clean 404 with a line for the operator, at both doors."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY, copy_build

from site_api.config import Settings
from site_api.serving.gate import NO_PAGE_FILE
from site_api.serving.pages import SiteIndex
from site_api.web.app import create_app

MAS = "/topics/macrophage-activation-syndrome/"
MAS_FILE = "topics/macrophage-activation-syndrome/index.html"


@pytest.fixture
def site_copy(built_site: Path, tmp_path: Path) -> Path:
    site = tmp_path / "site"
    copy_build(built_site, site)
    return site


@pytest.fixture
def copy_client(site_copy: Path, tmp_path: Path, migrated_db: Path) -> Iterator[httpx.Client]:
    from fastapi.testclient import TestClient

    var = tmp_path / "var"
    var.mkdir()
    shutil.copy(migrated_db, var / "site.db")
    settings = Settings(site_dir=site_copy, var_dir=var, secret_key=TEST_KEY, page_cache_pages=4)
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        yield client


def test_start_reads_the_manifest_and_no_page(site_copy: Path) -> None:
    (site_copy / MAS_FILE).unlink()  # a start that read every page would fail here
    site = SiteIndex.load(site_copy, cache_pages=4)
    assert site.cached_pages == 0
    assert site.lookup(MAS).page is not None


def test_the_cache_keeps_only_the_most_recently_sent_pages(site_copy: Path) -> None:
    site = SiteIndex.load(site_copy, cache_pages=3)
    pages = [p for p in site.by_url.values() if p.meta.url.startswith("/topics/")]
    assert len(pages) >= 6
    for page in pages:
        head, tail = site.parts(page)  # type: ignore[misc]
        on_disk = (site_copy / page.meta.file).read_bytes()
        assert head + b"<!--meter-->" + tail == on_disk
        assert site.cached_pages <= 3
    assert site.cached_pages == 3
    first = pages[0]
    (site_copy / first.meta.file).write_bytes(b"<html><!--meter-->rebuilt</html>")
    assert site.parts(first) == (b"<html>", b"rebuilt</html>"), "evicted pages are read again"


def test_without_a_cache_every_page_is_read_from_disk(site_copy: Path) -> None:
    site = SiteIndex.load(site_copy, cache_pages=0)
    page = site.by_url[MAS]
    assert site.parts(page) is not None and site.cached_pages == 0


def test_a_missing_page_file_is_a_404_and_a_log_line_never_a_500(
    copy_client: httpx.Client, site_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (site_copy / MAS_FILE).unlink()
    with caplog.at_level(logging.ERROR, logger="site_api.serving.pages"):
        response = copy_client.get(MAS)
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "meter=" not in response.headers.get("set-cookie", ""), "nothing spent on a 404"
    assert any(str(site_copy / MAS_FILE) in r.getMessage() for r in caplog.records)

    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="site_api.serving.pages"):
        answer = copy_client.get("/api/gate", headers={"x-original-uri": MAS})
    assert answer.status_code == 204 and answer.headers["x-page-file"] == NO_PAGE_FILE
    assert "x-meter-set-cookie" not in answer.headers
    assert any(MAS_FILE in r.getMessage() for r in caplog.records)


def test_a_page_file_without_its_slot_is_a_404_and_a_log_line(
    copy_client: httpx.Client, site_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (site_copy / MAS_FILE).write_text("<html>no slot</html>")
    with caplog.at_level(logging.ERROR, logger="site_api.serving.pages"):
        response = copy_client.get(MAS)
    assert response.status_code == 404
    assert any("slot" in r.getMessage() for r in caplog.records)


def test_pages_served_through_the_cache_are_the_built_bytes_with_the_countdown(
    copy_client: httpx.Client, site_copy: Path
) -> None:
    topics = sorted(p.parent.name for p in (site_copy / "topics").glob("*/index.html"))[:5]
    for _ in range(2):  # a first pass fills the cache of 4; the second mixes hits and misses
        for slug in topics:
            copy_client.cookies.clear()
            response = copy_client.get(f"/topics/{slug}/")
            assert response.status_code == 200
            built = (site_copy / "topics" / slug / "index.html").read_bytes()
            head, _, tail = built.partition(b"<!--meter-->")
            body = response.content
            assert body.startswith(head) and body.endswith(tail)
            slot = body[len(head) : len(body) - len(tail)]
            assert b"You can read 4 more topics before signing in." in slot
