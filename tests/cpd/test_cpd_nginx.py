"""The CPD log through the production topology: nginx (deploy/'s config) in front of two
`site-api serve` workers on PostgreSQL. Beacons reach the API with their limits, the seconds are
written on the workers' timer, and the log, a reflection and the certificate work through nginx."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import TEST_KEY, require
from cpd_helpers import TOPICS
from pg import TEMPLATE, admin
from servers import nginx_binary, topology
from sqlmodel import Session, select
from visitors import sign_in

from site_api.accounts.users import create_user
from site_api.cpd.api import BEACON_BYTES
from site_api.db import make_engine
from site_api.models import CpdReading, User

pytestmark = [pytest.mark.nginx, pytest.mark.postgres]
PASSWORD = "a sturdy cpd passphrase 7"
BEACON_HEADERS = {"content-type": "text/plain;charset=UTF-8", "sec-fetch-site": "same-origin"}


@pytest.fixture(scope="module")
def front(
    built_site: Path,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: str,
    postgres_template: str,
) -> Iterator[tuple[str, Any]]:
    """nginx's base URL and the workers' database engine (seconds written every 0.2 s)."""
    del postgres_template  # only needed to exist
    nginx = nginx_binary()
    require(nginx is not None, "nginx (Debian package 'nginx')")
    assert nginx is not None
    name = f"cpd_{uuid.uuid4().hex[:8]}"
    admin(postgres_server, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    database_url = postgres_server + name
    tmp = tmp_path_factory.mktemp("cpd-topology")
    env = {
        **os.environ,
        "SITE_VAR_DIR": str(tmp / "var"),
        "SITE_DATABASE_URL": database_url,
        "SITE_SECRET_KEY": TEST_KEY,
        "SITE_TRUSTED_PROXIES": '["127.0.0.1"]',
        "SITE_FUNNEL_FLUSH_SECONDS": "0.2",
    }
    with topology(nginx, built_site, tmp, env, workers=2) as running:
        yield running.base, make_engine(database_url)


def stored(engine: Any, email: str, want: int) -> dict[str, int]:
    """Seconds stored per topic for a reader, once the workers' flushes have written `want`."""
    deadline = time.monotonic() + 15
    while True:
        with Session(engine) as db:
            user = db.exec(select(User).where(User.email == email)).one()
            rows = db.exec(select(CpdReading).where(CpdReading.user_id == user.id)).all()
        found = {r.page_id: r.seconds for r in rows}
        if sum(found.values()) >= want or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_the_log_through_nginx(front: tuple[str, Any]) -> None:
    base, engine = front
    email = f"cpd-{uuid.uuid4().hex[:10]}@example.org"
    create_user(engine, email, PASSWORD, verified=True)
    with httpx.Client(base_url=base) as client:
        assert sign_in(client, email, PASSWORD).status_code == 303
        beacon = {"page": TOPICS[0], "view": "nginx-view-1", "seconds": 200}
        # Off by default: refused without effect.
        off = client.post("/api/cpd/beacon", content=json.dumps(beacon), headers=BEACON_HEADERS)
        assert off.status_code == 403
        client.get("/account/cpd")  # the CSRF cookie
        switched = client.post(
            "/account/cpd/switch",
            data={"record": "on", "csrf_token": client.cookies["csrf"]},
            follow_redirects=False,
        )
        assert switched.status_code == 303
        sent = client.post("/api/cpd/beacon", content=json.dumps(beacon), headers=BEACON_HEADERS)
        assert sent.status_code == 200 and sent.json() == {"credited": 200}
        assert sent.headers.get_list("cache-control") == ["private, no-store"]
        # The same beacon again, to whichever worker: nothing more than real time since.
        again = client.post("/api/cpd/beacon", content=json.dumps(beacon), headers=BEACON_HEADERS)
        assert again.status_code == 200 and again.json()["credited"] < 60
        big = json.dumps({**beacon, "pad": "x" * BEACON_BYTES})
        assert (
            client.post("/api/cpd/beacon", content=big, headers=BEACON_HEADERS).status_code == 413
        )
        huge = client.post("/api/cpd/beacon", content="x" * (100 * 1024), headers=BEACON_HEADERS)
        assert huge.status_code == 413  # nginx's own limit for /api/
        forged = {**beacon, "page": "no-such-topic", "view": "nginx-view-2"}
        assert (
            client.post(
                "/api/cpd/beacon", content=json.dumps(forged), headers=BEACON_HEADERS
            ).status_code
            == 404
        )
        anonymous = httpx.post(
            base + "/api/cpd/beacon", content=json.dumps(beacon), headers=BEACON_HEADERS
        )
        assert anonymous.status_code == 401
        seconds = stored(engine, email, 200)
        assert 200 <= seconds[TOPICS[0]] < 260 and set(seconds) == {TOPICS[0]}
        day = time.strftime("%Y-%m-%d", time.gmtime())
        reflected = client.put(
            f"/api/cpd/reflections/{day}/{TOPICS[0]}",
            json={"learned": "Through nginx", "version": None},
            headers={"sec-fetch-site": "same-origin"},
        )
        assert reflected.status_code == 201, reflected.text
        certificate = client.get("/account/cpd/certificate", params={"start": day, "end": day})
        assert certificate.status_code == 200
        assert "<dd data-cpd-claimed>0.05</dd>" in certificate.text
        assert "Through nginx" in certificate.text
        assert certificate.headers.get_list("cache-control") == ["private, no-store"]
