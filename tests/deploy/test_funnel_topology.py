"""The meter funnel through real nginx in front of `site-api serve --workers 2` on PostgreSQL:
anonymous views answered by the API through nginx's anonymous door and signed-in ones through
its /api/gate subrequests are counted, each worker flushes at shutdown, and the scripted visit
adds up exactly across both workers."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY, require
from pg import TEMPLATE, admin
from servers import nginx_binary, topology
from visitors import EXPECTED_FUNNEL, counts, scripted_visit

from site_api.db import make_engine

pytestmark = [pytest.mark.nginx, pytest.mark.postgres]


def test_the_funnel_counts_a_visit_through_nginx_exactly(
    built_site: Path, tmp_path: Path, postgres_server: str, postgres_template: str
) -> None:
    del postgres_template  # only needed to exist
    nginx = nginx_binary()
    require(nginx is not None, "nginx (Debian package 'nginx')")
    assert nginx is not None
    admin(postgres_server, f"CREATE DATABASE funnel TEMPLATE {TEMPLATE}")
    database_url = postgres_server + "funnel"
    env = {
        **os.environ,
        "SITE_VAR_DIR": str(tmp_path / "var"),
        "SITE_DATABASE_URL": database_url,
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_TRUSTED_PROXIES": '["127.0.0.1"]',
        "SITE_FUNNEL_FLUSH_SECONDS": "300",  # only the shutdown flush: what SIGTERM keeps
    }
    try:
        with topology(nginx, built_site, tmp_path, env, workers=2) as front:
            for _ in range(2):  # two visitors, so both workers are likely to count some
                with httpx.Client(base_url=front.base) as browser:
                    scripted_visit(browser, email=f"v{_}@example.org")
                    assert browser.get("/").headers["server"] == "nginx"
            assert counts(make_engine(database_url)) == {}  # nothing before the flush
        assert counts(make_engine(database_url)) == EXPECTED_FUNNEL + EXPECTED_FUNNEL
    finally:
        admin(postgres_server, "DROP DATABASE funnel WITH (FORCE)")
