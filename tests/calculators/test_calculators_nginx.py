"""Through deploy/'s nginx: calculator pages reach the API, and their answers reach no log."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY, require
from servers import nginx_binary, topology

pytestmark = [pytest.mark.nginx]

#: A log line's clock and duration fields: their digits may hold any answer by chance
#: ("0.87" in a time logged at …190.872).
TIMES = {"ts", "msec", "ms", "upstream_ms"}


def without_times(log: str) -> str:
    """The log's JSON lines without their clock and duration fields (other lines as they are)."""
    return "\n".join(
        json.dumps({k: v for k, v in json.loads(line).items() if k not in TIMES})
        if line.startswith("{")
        else line
        for line in log.splitlines()
    )


def test_calculator_pages_through_nginx_log_no_answers(built_site: Path, tmp_path: Path) -> None:
    nginx = nginx_binary()
    require(nginx is not None, "nginx (Debian package 'nginx')")
    assert nginx is not None
    env = {
        **os.environ,
        "SITE_VAR_DIR": str(tmp_path / "var"),
        "SITE_DATABASE_URL": "",
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_TRUSTED_PROXIES": '["127.0.0.1"]',
    }
    with topology(nginx, built_site, tmp_path, env, workers=1) as running:
        index = httpx.get(f"{running.base}/calculators/")
        assert index.status_code == 200 and 'href="/calculators/hscore/"' in index.text
        answered = httpx.get(
            f"{running.base}/calculators/isth-overt-dic/",
            params={
                "platelets": "43.21",
                "fibrin_marker": "strong",
                "pt_prolongation": "7",
                "fibrinogen": "0.87",
            },
        )
        assert answered.status_code == 200
        assert '<strong class="calculator__score-value">8</strong>' in answered.text
        assert answered.headers["cache-control"] == "private, no-store"
        assert answered.headers["referrer-policy"] == "no-referrer"
        assert "content-security-policy" in answered.headers
        time.sleep(1.2)  # nginx flushes its access log every second
        nginx_log = running.nginx_log.read_text(encoding="utf-8")
        api_log = running.api_log.read_text(encoding="utf-8")
    assert "/calculators/isth-overt-dic/?(answers not logged)" in nginx_log
    for log in (without_times(nginx_log), without_times(api_log)):
        assert "isth-overt-dic" in log  # the view is logged, its answers are not
        assert "43.21" not in log and "0.87" not in log and "strong" not in log
        assert "platelets" not in log and "fibrin_marker" not in log
