"""A CPD reader as tests drive one: their session, CSRF cookie, beacons and the log's pages."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from site_api.cpd.recorder import CpdRecorder
from site_api.models import CpdReading, User

#: Three topics of the synthetic site, and one more.
TOPICS = ["macrophage-activation-syndrome", "stills-disease", "kawasaki-disease"]
FOURTH = "pancytopenia"


class FakeClock:
    """The wall clock beacons are credited on, moved by the test (no sleeping)."""

    def __init__(self, start: float = 1_796_000_000.0) -> None:  # a Tuesday, 2026-11-24 UTC
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def recorder(client: httpx.Client) -> CpdRecorder:
    """The app's CPD recorder behind a TestClient."""
    return client.app.api.state.cpd  # type: ignore[attr-defined,no-any-return]


class CpdReader:
    """One signed-in reader: their session cookie (and a CSRF cookie) on every request."""

    def __init__(self, client: httpx.Client, session_cookie: str) -> None:
        self.client = client
        self.session = session_cookie
        self.csrf = "t" * 43
        self.headers = {"cookie": f"{session_cookie}; csrf={self.csrf}"}

    def beacon(
        self,
        page: str,
        seconds: Any,
        view: str = "view-0001",
        raw: bytes | None = None,
        content_type: str = "text/plain;charset=UTF-8",
    ) -> httpx.Response:
        body = (
            raw
            if raw is not None
            else json.dumps({"page": page, "view": view, "seconds": seconds}).encode()
        )
        headers = {**self.headers, "content-type": content_type, "sec-fetch-site": "same-origin"}
        return self.client.post("/api/cpd/beacon", content=body, headers=headers)

    def post(self, path: str, **data: str) -> httpx.Response:
        return self.client.post(
            path,
            data={**data, "csrf_token": self.csrf},
            headers=self.headers,
            follow_redirects=False,
        )

    def get(self, path: str, **params: str) -> httpx.Response:
        return self.client.get(path, params=params, headers=self.headers, follow_redirects=False)

    def switch(self, on: bool) -> None:
        response = self.post("/account/cpd/switch", record="on" if on else "off")
        assert response.status_code == 303, response.text

    def reflect_json(self, day: str, page: str, **body: Any) -> httpx.Response:
        return self.client.put(
            f"/api/cpd/reflections/{day}/{page}", json=body, headers=self.headers
        )


def seconds_logged(engine: Engine, email: str) -> dict[str, int]:
    """page id -> seconds stored for a reader (every day)."""
    with Session(engine) as db:
        user = db.exec(select(User).where(User.email == email)).one()
        rows = db.exec(select(CpdReading).where(CpdReading.user_id == user.id)).all()
    out: dict[str, int] = {}
    for row in rows:
        out[row.page_id] = out.get(row.page_id, 0) + row.seconds
    return out
