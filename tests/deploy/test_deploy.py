"""deploy/render.py: the nginx configuration for one build, several API hosts, HTTPS or not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, TEST_KEY, require
from servers import nginx_binary, topology
from visitors import GATED_URL, full_cookie

RENDER = [sys.executable, str(ROOT / "deploy" / "render.py")]


def render(site: Path, prefix: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [*RENDER, "--site", str(site), "--prefix", str(prefix), *extra]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.mark.nginx
def test_several_api_hosts_and_hsts_make_a_valid_configuration(
    built_site: Path, tmp_path: Path
) -> None:
    nginx = nginx_binary()
    require(nginx is not None, "nginx (Debian package 'nginx')")
    assert nginx is not None
    hosts = ["--api", "10.0.0.11:8000", "--api", "10.0.0.12:8000", "--api", "unix:/run/api.sock"]
    done = render(built_site, tmp_path, *hosts, "--hsts")
    assert done.returncode == 0, done.stderr
    conf = (tmp_path / "nginx.conf").read_text()
    for address in ("10.0.0.11:8000", "10.0.0.12:8000", "unix:/run/api.sock"):
        assert f"        server {address};\n" in conf
    headers = (tmp_path / "security-headers.conf").read_text()
    assert 'Strict-Transport-Security "max-age=31536000; includeSubDomains" always;' in headers
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log")]
        + ["-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


def test_without_hsts_no_strict_transport_security(built_site: Path, tmp_path: Path) -> None:
    assert render(built_site, tmp_path).returncode == 0
    assert "Strict-Transport-Security" not in (tmp_path / "security-headers.conf").read_text()
    assert "        server 127.0.0.1:8000;\n" in (tmp_path / "nginx.conf").read_text()


def test_an_unbuilt_site_is_refused_with_a_message(tmp_path: Path) -> None:
    done = render(tmp_path / "nowhere", tmp_path / "run")
    assert done.returncode != 0
    assert "index.html is missing: build the site first" in done.stderr
    assert not (tmp_path / "run" / "nginx.conf").exists()


@pytest.mark.nginx
def test_in_production_every_door_sends_each_security_header_once(
    built_site: Path, tmp_path: Path
) -> None:
    """With SITE_ENV=production the API adds HSTS itself (for the embedded door) and nginx adds it
    with --hsts: through nginx each header comes once, on both page doors and the proxied pages."""
    nginx = nginx_binary()
    require(nginx is not None, "nginx (Debian package 'nginx')")
    assert nginx is not None
    env = {
        **os.environ,
        "SITE_ENV": "production",
        "SITE_VAR_DIR": str(tmp_path / "var"),
        "SITE_DATABASE_URL": "",
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_TRUSTED_PROXIES": '["127.0.0.1"]',
    }
    once = ("strict-transport-security", "content-security-policy", "x-frame-options")
    with topology(nginx, built_site, tmp_path, env, workers=1, hsts=True) as front:
        direct = httpx.get(front.api + "/sign-in")
        assert direct.headers.get_list("strict-transport-security") == [
            "max-age=31536000; includeSubDomains"
        ]
        for path, cookie in [
            ("/", ""),  # the anonymous door
            (GATED_URL, full_cookie()),  # its gate page
            ("/no-such/", ""),  # its 404 page
            (GATED_URL, f"session={'e' * 43}; {full_cookie()}"),  # the auth_request door
            ("/sign-in", ""),
            ("/assets/javascripts/notes.js", ""),
        ]:
            response = httpx.get(front.base + path, headers={"cookie": cookie})
            for name in once:
                assert len(response.headers.get_list(name)) == 1, (path, name)
