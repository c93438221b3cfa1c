"""Liveness, readiness, and the request id every response and log line carries."""

from __future__ import annotations

import json
import logging

import httpx

from site_api.db import make_engine
from site_api.health import JsonFormatter


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


def test_log_lines_are_json() -> None:
    record = logging.LogRecord("site_api.access", logging.INFO, "", 0, "request", None, None)
    record.fields = {"request_id": "abc", "status": 200}
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "request" and line["request_id"] == "abc" and line["status"] == 200
