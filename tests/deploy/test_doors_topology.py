"""The doors beside the meter through real nginx (deploy/'s config) in front of `site-api serve`:
an institution's range, a verified and a spoofed crawler, each decided by the API's /api/gate.

Clients connect from other loopback addresses (127.0.0.2, .3, ...) so that nginx's
`$remote_addr`, and so the address the gate sees, is theirs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY, require
from dns_server import GOOGLEBOT, GOOGLEBOT_UA, LOOKALIKE, crawler_zone, dns_server
from servers import nginx_binary, topology
from visitors import GATED_URL, countdown_of, full_cookie

pytestmark = [pytest.mark.nginx]
INSTITUTION_ADDRESS = "127.0.0.2"


@dataclass(frozen=True)
class Doors:
    base: str
    api_log: Path


@pytest.fixture(scope="module")
def doors(built_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Doors]:
    """One API worker on SQLite behind nginx, with an institution and the loopback DNS."""
    nginx = nginx_binary()
    require(nginx is not None, "nginx (Debian package 'nginx')")
    assert nginx is not None
    tmp = tmp_path_factory.mktemp("doors")
    with dns_server(crawler_zone()) as port:
        env = {
            **os.environ,
            "SITE_VAR_DIR": str(tmp / "var"),
            "SITE_DATABASE_URL": "",
            "SITE_SECRET_KEY": TEST_KEY,
            "SITE_TRUSTED_PROXIES": '["127.0.0.1"]',
            "SITE_INSTITUTIONS": json.dumps(
                [{"name": "Loopback General Hospital", "ranges": [f"{INSTITUTION_ADDRESS}/32"]}]
            ),
            "SITE_CRAWLER_RESOLVER": "127.0.0.1",
            "SITE_CRAWLER_RESOLVER_PORT": str(port),
        }
        with topology(nginx, built_site, tmp, env, workers=1) as running:
            yield Doors(running.base, running.api_log)


def get(base: str, source: str, url: str, **headers: str) -> httpx.Response:
    """GET through nginx from the loopback address `source`."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, base_url=base) as client:
        return client.get(url, headers=headers)


def test_institution_range_reads_past_the_meter(doors: Doors, body_text: str) -> None:
    response = get(doors.base, INSTITUTION_ADDRESS, GATED_URL, cookie=full_cookie())
    assert response.status_code == 200 and body_text in response.text
    assert "Access provided by Loopback General Hospital." in response.text
    assert "set-cookie" not in response.headers
    assert response.headers["cache-control"] == "private, no-cache"


def test_outside_the_range_meets_the_gate(doors: Doors, body_text: str) -> None:
    gate = get(doors.base, "127.0.0.9", GATED_URL, cookie=full_cookie())
    assert gate.status_code == 403 and body_text not in gate.text


def test_a_forged_x_forwarded_for_opens_nothing(doors: Doors, body_text: str) -> None:
    # nginx appends the real peer, so the API's last untrusted hop is the client itself.
    forged = get(
        doors.base,
        "127.0.0.9",
        GATED_URL,
        cookie=full_cookie(),
        **{"x-forwarded-for": INSTITUTION_ADDRESS},
    )
    assert forged.status_code == 403 and body_text not in forged.text


def test_verified_crawler_reads_without_a_cookie(doors: Doors, body_text: str) -> None:
    response = get(doors.base, GOOGLEBOT, GATED_URL, **{"user-agent": GOOGLEBOT_UA})
    assert response.status_code == 200 and body_text in response.text
    assert "set-cookie" not in response.headers
    assert countdown_of(response.text) == ""


def test_spoofed_crawler_is_an_ordinary_visitor(doors: Doors, body_text: str) -> None:
    for source in (LOOKALIKE, "127.0.0.10"):
        gate = get(
            doors.base, source, GATED_URL, cookie=full_cookie(), **{"user-agent": GOOGLEBOT_UA}
        )
        assert gate.status_code == 403 and body_text not in gate.text
        fresh = get(doors.base, source, GATED_URL, **{"user-agent": GOOGLEBOT_UA})
        assert fresh.headers["set-cookie"].startswith("meter=")
        assert countdown_of(fresh.text) == "You can view 4 more pages before signing in."
