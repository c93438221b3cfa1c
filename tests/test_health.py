"""Liveness, readiness, and the request id every response and log line carries."""

from __future__ import annotations

import io
import json

import httpx
import pytest

from site_api.config import Settings
from site_api.db import make_engine
from site_api.health import AccessLog


def test_healthz_and_readyz(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok", "database": "ok"}


def test_readyz_fails_without_the_database(client: httpx.Client) -> None:
    client.app.api.state.engine = make_engine("sqlite:////nonexistent/dir/site.db")  # type: ignore[attr-defined]
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
    assert client.get("/healthz").status_code == 200


def test_request_id_passed_through_or_made(client: httpx.Client) -> None:
    given = client.get("/about/", headers={"x-request-id": "abc123"})
    assert given.headers["x-request-id"] == "abc123"
    made = client.get("/api/notes").headers["x-request-id"]
    assert len(made) == 16 and made != client.get("/api/notes").headers["x-request-id"]


def test_log_lines_are_json_written_in_batches() -> None:
    stream = io.StringIO()
    log = AccessLog(stream, interval=60)  # the thread will not write during the test
    log.write({"request_id": "abc", "status": 200})
    log.write({"request_id": 'd"ef', "status": 404})
    assert stream.getvalue() == ""  # nothing written on the request's path
    log.close()
    lines = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert [(x["request_id"], x["status"], x["msg"]) for x in lines] == [
        ("abc", 200, "request"),
        ('d"ef', 404, "request"),
    ]


def test_a_stalled_log_drops_the_oldest_lines_not_requests() -> None:
    stream = io.StringIO()
    log = AccessLog(stream, interval=60, limit=3)
    for n in range(5):
        log.write({"n": n})
    log.close()
    assert [json.loads(text)["n"] for text in stream.getvalue().splitlines()] == [2, 3, 4]


@pytest.mark.parametrize(("level", "gate_logged"), [("info", False), ("debug", True)])
def test_gate_questions_get_a_line_only_at_debug(
    settings: Settings, level: str, gate_logged: bool
) -> None:
    from fastapi.testclient import TestClient

    from site_api.web.app import SiteApp, create_app

    stream = io.StringIO()
    log = AccessLog(stream, interval=60)
    built = create_app(settings)
    app = SiteApp(built.api, built.pages, level, log=log)
    with TestClient(app) as client:
        assert client.get("/api/gate", headers={"x-original-uri": "/about/"}).status_code == 204
        assert client.get("/api/notes").status_code == 401
    log.close()
    paths = [json.loads(text)["path"] for text in stream.getvalue().splitlines()]
    assert paths == (["/api/gate"] if gate_logged else []) + ["/api/notes"]
