"""The preview's doors: only its own Host, view switches by POST with CSRF, no exposed sign-in."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from servers import SITE_API, free_port
from visitors import GATED_URL

from site_api.config import Settings
from site_api.preview.app import PreviewApp
from site_api.preview.guard import host_allowed
from site_api.web.app import create_app

TOPIC = "/topics/pancytopenia/"
LOOPBACK = "http://127.0.0.1:8001"
EXPOSED = "http://0.0.0.0:8001"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def preview_client(settings: Settings, base: str) -> TestClient:
    """The preview app listening (as the ASGI scope's `server` says) on `base`'s address."""
    return TestClient(PreviewApp(create_app(settings), settings), base_url=base)


@pytest.fixture
def local(settings: Settings) -> Iterator[TestClient]:
    with preview_client(settings, LOOPBACK) as client:
        yield client


@pytest.fixture
def exposed(settings: Settings) -> Iterator[TestClient]:
    with preview_client(settings, EXPOSED) as client:
        yield client


@pytest.mark.parametrize(
    ("host", "server", "allowed"),
    [
        ("127.0.0.1:8001", ("127.0.0.1", 8001), True),
        ("localhost:8001", ("127.0.0.1", 8001), True),
        ("LocalHost:8001", ("127.0.0.1", "8001"), True),
        ("[::1]:8001", ("127.0.0.1", 8001), True),
        ("[::1]:8001", ("::1", 8001), True),
        ("127.0.0.1:8002", ("127.0.0.1", 8001), False),
        ("127.0.0.1", ("127.0.0.1", 8001), False),
        ("localhost", ("127.0.0.1", 80), True),
        ("127.0.0.2:8001", ("127.0.0.1", 8001), False),
        ("evil.example:8001", ("127.0.0.1", 8001), False),
        ("evil.example", ("127.0.0.1", 8001), False),
        ("127.0.0.1.nip.io:8001", ("127.0.0.1", 8001), False),
        ("localhost.evil.example:8001", ("127.0.0.1", 8001), False),
        ("evil.example@127.0.0.1:8001", ("127.0.0.1", 8001), False),
        ("127.0.0.1:8001:8001", ("127.0.0.1", 8001), False),
        ("127.0.0.1:8001/x", ("127.0.0.1", 8001), False),
        ("192.0.2.2:8001", ("127.0.0.1", 8001), False),
        ("", ("127.0.0.1", 8001), False),
        (None, ("127.0.0.1", 8001), False),
        ("127.0.0.1:8001", None, False),
        # Exposed on every address: any IP literal with the port, never a name but localhost.
        ("192.0.2.2:8001", ("0.0.0.0", 8001), True),
        ("[2001:db8::2]:8001", ("::", 8001), True),
        ("127.0.0.1:8001", ("0.0.0.0", 8001), True),
        ("evil.example:8001", ("0.0.0.0", 8001), False),
        ("192.0.2.2:8002", ("0.0.0.0", 8001), False),
        # Exposed on one address: that address and loopback names only.
        ("192.0.2.2:8001", ("192.0.2.2", 8001), True),
        ("192.0.2.3:8001", ("192.0.2.2", 8001), False),
    ],
)
def test_which_hosts_the_preview_answers(
    host: str | None, server: tuple[str, object] | None, allowed: bool
) -> None:
    assert host_allowed(host, server) is allowed


@pytest.mark.parametrize("host", ["127.0.0.1:8001", "localhost:8001", "[::1]:8001"])
def test_loopback_names_with_the_port_are_answered(local: TestClient, host: str) -> None:
    assert local.get("/_preview/state", headers={"host": host}).status_code == 200
    page = local.get(TOPIC, headers={"host": host})
    assert page.status_code == 200 and "data-preview-bar" in page.text


@pytest.mark.parametrize(
    "host", ["rebound.example:8001", "rebound.example", "127.0.0.1:9999", "192.0.2.2:8001"]
)
def test_any_other_host_is_refused_with_a_message(local: TestClient, host: str) -> None:
    """DNS rebinding: a page on another name that resolves to 127.0.0.1 reads nothing."""
    for path in ("/_preview/state", TOPIC, "/api/search?q=pancytopenia", "/_preview/as/gated"):
        response = local.get(path, headers={"host": host})
        assert response.status_code == 400, path
        assert "This preview answers only http://127.0.0.1:8001/" in response.text
        assert "set-cookie" not in response.headers
        assert "data-preview-bar" not in response.text
    switch = local.post("/_preview/as/signed-in", headers={"host": host})
    assert switch.status_code == 400 and "set-cookie" not in switch.headers


def bar_token(client: TestClient, path: str = TOPIC) -> str:
    """Open a page as the editor's browser does; the bar's forms carry the CSRF cookie's token."""
    page = client.get(path)
    tokens = set(TOKEN_RE.findall(page.text.split("data-preview-bar", 1)[1].split("</div>")[0]))
    assert len(tokens) == 1
    token = tokens.pop()
    assert client.cookies.get("csrf") == token
    return token


def test_the_bar_switches_views_with_post_forms(local: TestClient) -> None:
    page = local.get(TOPIC)
    bar = page.text.split("data-preview-bar", 1)[1].split("</div>", 1)[0]
    for mode in ("pages-left", "gated", "signed-in"):
        assert f'<form method="post" action="/_preview/as/{mode}"' in bar
    assert "<a " not in bar
    assert bar.count('name="next" value="/topics/pancytopenia/"') == 3
    # The page set the site's CSRF cookie, and a second view keeps it.
    token = bar_token(local)
    assert bar_token(local) == token


def test_a_get_never_switches_views(local: TestClient) -> None:
    for mode in ("signed-in", "gated", "pages-left"):
        response = local.get(f"/_preview/as/{mode}?next=/", follow_redirects=False)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert "set-cookie" not in response.headers


def test_a_switch_without_the_token_or_from_another_site_is_refused(local: TestClient) -> None:
    token = bar_token(local)
    form = {"csrf_token": token, "next": TOPIC}
    cases: list[tuple[dict[str, str], dict[str, str]]] = [
        ({"next": TOPIC}, {}),
        ({"csrf_token": "x" * 43, "next": TOPIC}, {}),
        (form, {"origin": "http://rebound.example:8001"}),
        (form, {"sec-fetch-site": "cross-site"}),
    ]
    for data, headers in cases:
        response = local.post(
            "/_preview/as/signed-in", data=data, headers=headers, follow_redirects=False
        )
        assert response.status_code == 403, (data, headers)
        assert "set-cookie" not in response.headers
    # The token alone, without this browser's cookie, is not enough either.
    local.cookies.delete("csrf")
    alone = local.post("/_preview/as/signed-in", data=form, follow_redirects=False)
    assert alone.status_code == 403 and "set-cookie" not in alone.headers


def test_the_bars_form_signs_in_the_preview_account(local: TestClient) -> None:
    token = bar_token(local)
    response = local.post(
        "/_preview/as/signed-in",
        data={"csrf_token": token, "next": TOPIC},
        headers={"origin": LOOPBACK, "sec-fetch-site": "same-origin"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == TOPIC
    assert any(c.startswith("session=") for c in response.headers.get_list("set-cookie"))
    page = local.get(TOPIC)
    assert 'aria-current="true"' in page.text and "page-notes" in page.text


def test_the_switch_goes_back_only_to_this_site(local: TestClient) -> None:
    token = bar_token(local)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = local.post(
            "/_preview/as/gated",
            data={"csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == "/", target


def test_exposed_preview_offers_and_grants_no_password_less_sign_in(
    exposed: TestClient, body_text: str
) -> None:
    page = exposed.get(GATED_URL, headers={"host": "192.0.2.2:8001"})
    assert page.status_code == 200
    assert 'action="/_preview/as/signed-in"' not in page.text
    assert "signed in: off while exposed to the network" in page.text
    token = bar_token(exposed)
    refused = exposed.post(
        "/_preview/as/signed-in",
        data={"csrf_token": token, "next": GATED_URL},
        follow_redirects=False,
    )
    assert refused.status_code == 403 and "--unsafe-expose" in refused.text
    assert "set-cookie" not in refused.headers
    # The anonymous views still switch.
    gated = exposed.post(
        "/_preview/as/gated", data={"csrf_token": token, "next": GATED_URL}, follow_redirects=False
    )
    assert gated.status_code == 303
    assert not any(
        c.startswith("session=") and not c.startswith("session=;")
        for c in gated.headers.get_list("set-cookie")
    )
    assert body_text not in exposed.get(GATED_URL).text
    # A name other than localhost is still refused when exposed.
    assert exposed.get(TOPIC, headers={"host": "rebound.example:8001"}).status_code == 400


def run_preview(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SITE_VAR_DIR": str(cwd / "var")}
    return subprocess.run(
        [SITE_API, "preview", "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_a_host_beyond_loopback_needs_unsafe_expose(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "::", "192.0.2.2"):
        refused = run_preview("--host", host, cwd=tmp_path)
        assert refused.returncode != 0, host
        assert f"--host {host} would show every draft" in refused.stderr
        assert "--unsafe-expose" in refused.stderr
        assert not (tmp_path / "var").exists()  # refused before anything was built


def test_unsafe_expose_warns_before_anything_else(tmp_path: Path) -> None:
    # No mkdocs.yml here: the build fails, so nothing ever listens; the warning came first.
    result = run_preview("--host", "0.0.0.0", "--unsafe-expose", cwd=tmp_path)
    assert result.returncode != 0
    warning = "WARNING: the preview listens on 0.0.0.0: every draft is readable"
    assert warning in result.stderr
    assert "The signed-in view is off" in result.stderr
    assert result.stderr.index(warning) < result.stderr.index("not built")


def test_loopback_hosts_need_no_flag(tmp_path: Path) -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        result = run_preview("--host", host, cwd=tmp_path)
        assert "--unsafe-expose" not in result.stderr and "WARNING" not in result.stderr, host
