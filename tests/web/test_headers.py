"""The embedded door sends the security headers nginx's door sends, each exactly once."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from conftest import ROOT
from fastapi.testclient import TestClient
from visitors import GATED_URL, full_cookie

from site_api.config import Settings
from site_api.web.app import create_app


def render_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render", ROOT / "deploy" / "render.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nginx_header(site: Path, name: str, hsts: bool = False) -> str:
    """The value deploy/security-headers.conf gives `name` for this built site."""
    render = render_module()
    scripts, styles = render.inline_hashes(site)
    conf = (ROOT / "deploy" / "security-headers.conf").read_text()
    conf = conf.replace("@SCRIPT_HASHES@", " ".join(scripts))
    conf = conf.replace("@STYLE_HASHES@", " ".join(styles))
    conf = conf.replace("@HSTS@", render.HSTS if hsts else "")
    found = re.search(rf'add_header {name} "([^"]*)" always;', conf)
    assert found, name
    return found.group(1)


PATHS = [
    "/",
    GATED_URL,
    "/no-such/",
    "/sign-in",
    "/api/notes",
    "/assets/javascripts/notes.js",
    "/reset-password?token=x",
]


@pytest.mark.parametrize("path", PATHS)
def test_the_embedded_csp_is_nginxs(client: httpx.Client, built_site: Path, path: str) -> None:
    response = client.get(path, headers={"cookie": full_cookie()})
    expected = nginx_header(built_site, "Content-Security-Policy")
    assert response.headers.get_list("content-security-policy") == [expected]
    assert "strict-transport-security" not in response.headers  # not production


def test_hsts_in_production(settings: Settings, built_site: Path) -> None:
    production = settings.model_copy(update={"env": "production"})
    with TestClient(create_app(production)) as client:
        for path in PATHS:
            response = client.get(path)
            expected = nginx_header(built_site, "Strict-Transport-Security", hsts=True)
            assert response.headers.get_list("strict-transport-security") == [expected], path


REQUESTS = [
    ("GET", "/", {}),
    ("GET", "/no-such/", {}),
    ("GET", "/assets/javascripts/notes.js", {"range": "bytes=999999-"}),
    ("GET", "/assets/javascripts/notes.js", {"range": "bytes=0-10"}),
    ("GET", "/api/notes", {}),
    ("PUT", "/api/notes/x", {"content-length": "999999999"}),
    ("OPTIONS", "/api/notes/x", {}),
    ("PATCH", "/api/notes/x", {}),
    ("GET", "/sign-in/", {}),
    ("GET", "/api/notes/", {}),
    ("GET", "/reset-password?token=x", {}),
]


@pytest.mark.parametrize(("method", "path", "headers"), REQUESTS)
def test_no_header_twice_on_any_response(
    client: httpx.Client, method: str, path: str, headers: dict[str, str]
) -> None:
    response = client.request(method, path, headers=headers, follow_redirects=False)
    names = [name.lower() for name, _ in response.headers.multi_items()]
    assert [n for n in set(names) if names.count(n) > 1 and n != "set-cookie"] == [], (
        response.status_code
    )
    assert response.headers.get_list("referrer-policy") in (
        ["strict-origin-when-cross-origin"],
        ["no-referrer"],
    )
