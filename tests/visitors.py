"""Visitors as the server meets them: forged meter cookies, new sessions, forms posted by a browser."""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from conftest import TEST_KEY
from sqlalchemy import Engine
from sqlmodel import Session, select

from site_api.accounts.sessions import SessionStore
from site_api.config import Settings
from site_api.db import make_engine
from site_api.models import FunnelCount, User, UserSession
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


# --- the meter funnel (site_api/serving/funnel.py) ------------------------------------------


def counts(engine: Engine) -> Counter[tuple[str, str]]:
    """(page id, event) -> count, over every day."""
    with Session(engine) as db:
        rows = db.exec(select(FunnelCount)).all()
    total: Counter[tuple[str, str]] = Counter()
    for row in rows:
        total[(row.page_id, row.event)] += row.count
    return total


def scripted_visit(client: httpx.Client, email: str = "new@example.org") -> None:
    """Five free topics (one read twice), the gate, its sign-in and create-account pages, a new
    account; and what must not count: HEAD, a prefetch, a sign-in page not from the gate."""
    for topic in TOPICS:
        assert client.get(f"/topics/{topic}/").status_code == 200
    assert client.get(f"/topics/{TOPICS[0]}/").status_code == 200
    assert client.head(GATED_URL).status_code == 403
    assert client.get(GATED_URL, headers={"sec-purpose": "prefetch"}).status_code == 403
    gate = client.get(GATED_URL)
    assert gate.status_code == 403
    assert f"/sign-in?next={GATED_URL}&amp;from=gate" in gate.text
    assert f"/create-account?next={GATED_URL}&amp;from=gate" in gate.text
    assert client.get("/sign-in", params={"next": GATED_URL, "from": "gate"}).status_code == 200
    assert client.get("/sign-in", params={"next": GATED_URL}).status_code == 200
    form = client.get("/create-account", params={"next": GATED_URL, "from": "gate"})
    assert 'name="from" value="gate"' in form.text
    created = client.post(
        "/create-account",
        data={
            "email": email,
            "password": PASSWORD,
            "csrf_token": client.cookies["csrf"],
            "next": GATED_URL,
            "from": "gate",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"] == GATED_URL
    assert client.get(GATED_URL).status_code == 200  # signed in now: no funnel event


EXPECTED_FUNNEL = Counter(
    {
        **{(t, "view"): 1 for t in TOPICS},
        (TOPICS[0], "view"): 2,
        (TOPICS[0], "first_view"): 1,
        (TOPICS[-1], "last_free"): 1,
        (GATED, "gate"): 1,
        (GATED, "gate_sign_in_page"): 1,
        (GATED, "gate_create_page"): 1,
        (GATED, "gate_account"): 1,
    }
)
