"""Visitors as the server meets them: forged meter cookies, new sessions, forms posted by a browser."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from conftest import TEST_KEY
from sqlmodel import Session

from site_api.accounts.sessions import SessionStore
from site_api.config import Settings
from site_api.db import make_engine
from site_api.models import User, UserSession
from site_api.serving.meter import MeterCookie, MeterState, page_token

TOPICS = [
    "macrophage-activation-syndrome",
    "stills-disease",
    "kawasaki-disease",
    "pancytopenia",
    "hyperferritinaemia",
]
GATED = "cytokine-release-syndrome"
GATED_URL = f"/topics/{GATED}/"


def full_cookie() -> str:
    """The meter cookie of a visitor who has read the five TOPICS."""
    state = MeterState(int(time.time()) - 60, tuple(page_token(t) for t in TOPICS))
    return "meter=" + MeterCookie(TEST_KEY.encode()).dumps(state)


def countdown_of(html: str) -> str:
    match = re.search(r'<p class="meter-countdown" role="status">(.*?) <a', html)
    return match.group(1) if match else ""


def signed_in_cookie(
    settings: Settings, verified: bool = True, email: str = "reader@example.org", **ages: int
) -> str:
    """A session cookie of a new reader (email confirmed unless `verified=False`)."""
    engine = make_engine(settings.database_url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with Session(engine) as db:
        user = User(email=email, created_at=now, email_verified_at=now if verified else None)
        db.add(user)
        db.commit()
        db.refresh(user)
        assert user.id is not None
        user_id = user.id
    store = SessionStore(engine, idle=timedelta(hours=8), absolute=timedelta(days=7))
    token = store.create(user_id)
    if ages:
        with Session(engine) as db:
            row = db.get(UserSession, hashlib.sha256(token.encode()).hexdigest())
            assert row is not None
            row.last_seen = row.last_seen - timedelta(minutes=ages.get("idle_minutes", 0))
            row.created_at = row.created_at - timedelta(days=ages.get("age_days", 0))
            db.add(row)
            db.commit()
    return f"session={token}"


PASSWORD = "correct horse battery"


def csrf(client: httpx.Client) -> str:
    """Open a form page as a browser would, which sets this browser's CSRF cookie."""
    client.get("/sign-in")
    token = client.cookies.get("csrf")
    assert token
    return token


def sign_in(
    client: httpx.Client, email: str, password: str, next: str = "/", **extra: Any
) -> httpx.Response:
    data = {"email": email, "password": password, "csrf_token": csrf(client), "next": next}
    return client.post("/sign-in", data=data, follow_redirects=False, **extra)
