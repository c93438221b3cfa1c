"""The doors beside the meter through real nginx (deploy/'s config) in front of `site-api serve`:
an institution's range, a verified and a spoofed crawler, each decided by the API's /api/gate.

Clients connect from other loopback addresses (127.0.0.2, .3, ...) so that nginx's
`$remote_addr`, and so the address the gate sees, is theirs. Every test runs twice: nginx reaching
the API over loopback TCP (`127.0.0.1` trusted) and over a Unix socket (`site-api serve --uds`,
only `unix:` trusted), so the doors open alike whichever way nginx reaches the API.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import TEST_KEY, require
from dns_server import GOOGLEBOT, GOOGLEBOT_UA, LOOKALIKE, crawler_zone, dns_server
from servers import nginx_binary, topology
from visitors import GATED, GATED_URL, countdown_of, full_cookie, signed_in_cookie

from site_api.config import Settings

pytestmark = [pytest.mark.nginx]
INSTITUTION_ADDRESS = "127.0.0.2"


@dataclass(frozen=True)
class Doors:
    base: str
    api_log: Path
    nginx_log: Path
    settings: Settings


@pytest.fixture(scope="module", params=["tcp", "unix"])
def doors(
    built_site: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Doors]:
    """One API worker on SQLite behind nginx, with an institution and the loopback DNS; nginx
    reaches the API over loopback TCP or a Unix socket."""
    nginx = nginx_binary()
    require(nginx is not None, "nginx (Debian package 'nginx')")
    assert nginx is not None
    uds = request.param == "unix"
    tmp = tmp_path_factory.mktemp("doors")
    with dns_server(crawler_zone()) as port:
        env = {
            **os.environ,
            "SITE_VAR_DIR": str(tmp / "var"),
            "SITE_DATABASE_URL": "",
            "SITE_SECRET_KEY": TEST_KEY,
            # nginx is the peer: its loopback address, or a Unix socket's `unix:`.
            "SITE_TRUSTED_PROXIES": '["unix:"]' if uds else '["127.0.0.1"]',
            "SITE_INSTITUTIONS": json.dumps(
                [{"name": "Loopback General Hospital", "ranges": [f"{INSTITUTION_ADDRESS}/32"]}]
            ),
            "SITE_CRAWLER_RESOLVER": "127.0.0.1",
            "SITE_CRAWLER_RESOLVER_PORT": str(port),
        }
        with topology(nginx, built_site, tmp, env, workers=1, uds=uds) as running:
            settings = Settings(site_dir=built_site, var_dir=tmp / "var", secret_key=TEST_KEY)
            yield Doors(running.base, running.api_log, running.nginx_log, settings)


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


@pytest.mark.parametrize("count", [2, 3])
def test_several_forged_x_forwarded_for_lines_open_nothing(
    doors: Doors, body_text: str, count: int
) -> None:
    # Every line names the institution; nginx appends the real peer after all of them.
    headers = [("cookie", full_cookie())] + [("x-forwarded-for", INSTITUTION_ADDRESS)] * count
    transport = httpx.HTTPTransport(local_address="127.0.0.9")
    with httpx.Client(transport=transport, base_url=doors.base) as client:
        forged = client.get(GATED_URL, headers=headers)
    assert forged.status_code == 403 and body_text not in forged.text
    # From the institution itself, lines naming an outside address change nothing either.
    transport = httpx.HTTPTransport(local_address=INSTITUTION_ADDRESS)
    outside = [("x-forwarded-for", "192.0.2.9")] * count
    with httpx.Client(transport=transport, base_url=doors.base) as client:
        inside = client.get(GATED_URL, headers=[("cookie", full_cookie()), *outside])
    assert inside.status_code == 200 and body_text in inside.text


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
        assert countdown_of(fresh.text) == "You can read 4 more topics before signing in."


def test_share_link_through_nginx(doors: Doors, body_text: str) -> None:
    reader = signed_in_cookie(doors.settings, email="sharer@example.org")
    made = httpx.post(
        f"{doors.base}/api/shares", json={"page_id": GATED}, headers={"cookie": reader}
    )
    assert made.status_code == 201, made.text
    link = urlsplit(made.json()["url"])
    assert f"{link.scheme}://{link.netloc}" == doors.base
    target = f"{link.path}?{link.query}"
    token = link.query.removeprefix("share=")

    opened = get(doors.base, "127.0.0.9", target, cookie=full_cookie())
    assert opened.status_code == 200 and body_text in opened.text
    assert "Shared by a registered colleague" in opened.text
    assert opened.headers.get_list("referrer-policy") == ["no-referrer"]
    used = opened.headers["set-cookie"]
    assert used.startswith("shared=")

    again = get(doors.base, "127.0.0.9", target, cookie=full_cookie() + "; " + used.split(";")[0])
    assert again.status_code == 403 and body_text not in again.text
    plain = get(doors.base, "127.0.0.9", "/topics/stills-disease/", cookie=full_cookie())
    assert plain.headers.get_list("referrer-policy") == ["strict-origin-when-cross-origin"]

    for bad in (token[:-1], token.replace(".", "%2E"), f"{token}&share={token}"):
        refused = get(doors.base, "127.0.0.9", f"{link.path}?share={bad}", cookie=full_cookie())
        assert refused.status_code == 403 and body_text not in refused.text, bad
    other = get(
        doors.base, "127.0.0.9", f"/topics/stills-disease/?share={token}", cookie=full_cookie()
    )
    assert other.status_code == 200 and "Shared by a registered colleague" not in other.text

    revoked = httpx.delete(
        f"{doors.base}/api/shares/{made.json()['id']}", headers={"cookie": reader}
    )
    assert revoked.status_code == 204
    after = get(doors.base, "127.0.0.11", target, cookie=full_cookie())
    assert after.status_code == 403

    time.sleep(1.2)  # nginx flushes its access log every second
    nginx_log = doors.nginx_log.read_text(encoding="utf-8")
    assert "share=(redacted)" in nginx_log
    mac = token.rsplit(".", 1)[1]
    assert mac not in nginx_log
    assert mac not in doors.api_log.read_text(encoding="utf-8")


def test_readyz_checks_the_public_address_nginx_was_reached_at(doors: Doors) -> None:
    """nginx is a trusted peer over either upstream, so /readyz compares SITE_PUBLIC_URL with the
    Host and scheme nginx passes on (over a Unix socket, the peer `unix:`)."""
    same = get(doors.base, "127.0.0.9", "/readyz")
    assert same.status_code == 200 and "public_url" not in same.json()
    other = get(doors.base, "127.0.0.9", "/readyz", host="notebook.example.org")
    assert other.status_code == 200
    assert "http://notebook.example.org" in other.json()["public_url"]
