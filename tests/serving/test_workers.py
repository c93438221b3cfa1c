"""`site-api serve --workers 2`: the workers are forked with the app their master built (it loads
the build once, not once more per worker) and serve pages, search and the database with it."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import httpx
from conftest import TEST_KEY
from servers import free_port, start, stop, wait_http
from visitors import signed_in_cookie

from site_api.config import Settings

HLH_URL = "/topics/haemophagocytic-lymphohistiocytosis/"
#: `site-api serve` with SiteIndex.load and SearchIndex() counted: one line per call, with the
#: calling process's id, appended to $LOADS_FILE (forked workers inherit the counting).
COUNTED_SERVE = """
import os, sys
from site_api.search.index import SearchIndex
from site_api.serving.pages import SiteIndex
from site_api.cli import main

def record(kind):
    fd = os.open(os.environ["LOADS_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, f"{kind} {os.getpid()}\\n".encode())
    os.close(fd)

load, init = SiteIndex.load.__func__, SearchIndex.__init__

def counted_load(cls, *args, **kwargs):
    record("site")
    return load(cls, *args, **kwargs)

def counted_init(self, *args, **kwargs):
    record("search")
    init(self, *args, **kwargs)

SiteIndex.load = classmethod(counted_load)
SearchIndex.__init__ = counted_init
sys.exit(main(sys.argv[1:]))
"""


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Granian's workers of a master)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def logged(log: Path, path: str) -> int:
    """How many JSON request lines in the server's output are for `path`."""
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            count += entry.get("msg") == "request" and entry.get("path") == path
    return count


def test_forked_workers_serve_with_the_app_their_master_built(
    tmp_path: Path, built_site: Path
) -> None:
    loads, log, var = tmp_path / "loads", tmp_path / "serve.log", tmp_path / "var"
    script = tmp_path / "counted_serve.py"
    script.write_text(COUNTED_SERVE)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LOADS_FILE": str(loads),
        "SITE_SITE_DIR": str(built_site),
        "SITE_VAR_DIR": str(var),
        "SITE_DATABASE_URL": "",
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_PUBLIC_URL": base,
        "SITE_LOG_LEVEL": "info",  # a JSON line per request, written by each worker's thread
    }
    command = [sys.executable, str(script), "serve", "--port", str(port), "--workers", "2"]
    proc = start(command, log, env)
    rounds = 24
    try:
        wait_http(base + "/healthz", proc, log, timeout=60)
        deadline = time.monotonic() + 30
        while len(workers := children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) == 2, f"two workers: {workers}"
        # After the server has upgraded its database: a reader's session, for bodies' snippets.
        cookie = signed_in_cookie(Settings(site_dir=built_site, var_dir=var, secret_key=TEST_KEY))
        for _ in range(rounds):  # a new connection each time: the workers share the socket
            with httpx.Client(base_url=base, timeout=10) as client:
                page = client.get(HLH_URL)
                assert page.status_code == 200
                assert "<h1" in page.text and "Haemophagocytic lymphohistiocytosis" in page.text
                found = client.get("/api/search", params={"q": "etoposide"})
                assert found.status_code == 200
                assert found.json()["results"][0]["url"] == HLH_URL
                signed_in = client.get(
                    "/api/search", params={"q": "etoposide"}, headers={"cookie": cookie}
                )
                assert signed_in.status_code == 200
                first = signed_in.json()["results"][0]
                assert first["url"] == HLH_URL and "<mark>etoposide</mark>" in first["snippet"]
                assert client.get("/readyz").json()["database"] == "ok"
        deadline = time.monotonic() + 10
        while logged(log, "/api/search") < 2 * rounds and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop(proc)
    calls = [line.split() for line in loads.read_text().splitlines()]
    assert sorted(kind for kind, _ in calls) == ["search", "site"], "the build is loaded once"
    assert {int(pid) for _, pid in calls} == {proc.pid}, "by the master, before the fork"
    # The app the workers inherited logs to its master's request log, through their own threads.
    assert logged(log, "/api/search") == 2 * rounds and logged(log, HLH_URL) == rounds
