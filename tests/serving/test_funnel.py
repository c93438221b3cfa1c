"""The meter funnel's counters: a scripted visit counts exactly (SQLite and PostgreSQL), nothing
is written on an anonymous view's path, concurrent flushes from two workers lose nothing, and
nothing about the visitor is stored."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, inspect
from sqlmodel import Session, select
from visitors import GATED, GATED_URL, TOPICS

from site_api.config import Settings
from site_api.models import FunnelCount
from site_api.serving.funnel import FunnelCounter, utc_day
from site_api.web.app import create_app

PASSWORD = "correct horse battery staple"


def counts(engine: Engine) -> Counter[tuple[str, str]]:
    """(page id, event) -> count, over every day."""
    with Session(engine) as db:
        rows = db.exec(select(FunnelCount)).all()
    total: Counter[tuple[str, str]] = Counter()
    for row in rows:
        total[(row.page_id, row.event)] += row.count
    return total


def flush(client: TestClient) -> None:
    client.app.api.state.funnel.flush()  # type: ignore[attr-defined]


def scripted_visit(client: httpx.Client) -> None:
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
            "email": "new@example.org",
            "password": PASSWORD,
            "csrf_token": client.cookies["csrf"],
            "next": GATED_URL,
            "from": "gate",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303 and created.headers["location"] == GATED_URL
    assert client.get(GATED_URL).status_code == 200  # signed in now: no funnel event


EXPECTED = Counter(
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


def test_a_scripted_visit_counts_exactly(client: TestClient, engine: Engine) -> None:
    scripted_visit(client)
    flush(client)
    assert counts(engine) == EXPECTED
    # A sign-in that followed the gate, by an existing account, in a new browser.
    other = TestClient(client.app, base_url="http://127.0.0.1:8000")
    other.get("/sign-in", params={"next": GATED_URL, "from": "gate"})
    signed = other.post(
        "/sign-in",
        data={
            "email": "new@example.org",
            "password": PASSWORD,
            "csrf_token": other.cookies["csrf"],
            "next": GATED_URL,
            "from": "gate",
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    flush(client)
    assert counts(engine) == EXPECTED + Counter(
        {(GATED, "gate_sign_in_page"): 1, (GATED, "gate_sign_in"): 1}
    )
    with Session(engine) as db:
        days = {row.day for row in db.exec(select(FunnelCount)).all()}
    assert len(days) == 1  # one UTC day: a day and a page, nothing about who


def test_counts_survive_a_restart_and_add_up(settings: Settings, engine: Engine) -> None:
    for _ in range(2):  # the lifespan's shutdown flushes what the worker counted
        with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
            assert client.get(f"/topics/{TOPICS[1]}/").status_code == 200
    assert counts(engine)[(TOPICS[1], "view")] == 2
    assert counts(engine)[(TOPICS[1], "first_view")] == 2


def test_no_database_statement_on_an_anonymous_view(client: TestClient, engine: Engine) -> None:
    app_engine = client.app.api.state.engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(app_engine, "before_cursor_execute", seen)
    try:
        for topic in [*TOPICS, GATED]:
            client.get(f"/topics/{topic}/")
    finally:
        event.remove(app_engine, "before_cursor_execute", seen)
    assert statements == []
    assert client.app.api.state.funnel.pending() > 0  # type: ignore[attr-defined]
    assert counts(engine) == Counter()


def test_the_table_holds_no_visitor_data(engine: Engine) -> None:
    columns = {c["name"] for c in inspect(engine).get_columns("funnel_count")}
    assert columns == {"day", "page_id", "event", "count"}


@pytest.mark.postgres
def test_two_workers_flushing_at_once_lose_nothing(postgres_database: str) -> None:
    from site_api.db import make_engine

    workers = [FunnelCounter(make_engine(postgres_database)) for _ in range(2)]
    rounds, per_round = 40, 25
    start = threading.Barrier(2)

    def work(counter: FunnelCounter) -> None:
        start.wait()
        for _ in range(rounds):
            for i in range(per_round):
                counter.add(TOPICS[i % len(TOPICS)], "view", now=86400 * 20000)
                counter.add(GATED, "gate", now=86400 * 20000)
            counter.flush()  # both workers upsert the same keys, again and again

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = counts(make_engine(postgres_database))
    assert total[(GATED, "gate")] == 2 * rounds * per_round
    assert sum(total[(t, "view")] for t in TOPICS) == 2 * rounds * per_round
    with Session(make_engine(postgres_database)) as db:
        assert {r.day for r in db.exec(select(FunnelCount)).all()} == {utc_day(86400 * 20000)}
