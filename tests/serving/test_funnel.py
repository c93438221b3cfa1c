"""The meter funnel's counters: a scripted visit counts exactly (SQLite and PostgreSQL), nothing
is written on an anonymous view's path, concurrent flushes from two workers lose nothing, and
nothing about the visitor is stored."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, inspect
from sqlmodel import Session, select
from visitors import EXPECTED_FUNNEL, GATED, GATED_URL, PASSWORD, TOPICS, counts, scripted_visit

from site_api.config import Settings
from site_api.models import FunnelCount
from site_api.serving.funnel import FunnelCounter, utc_day
from site_api.web.app import create_app


def flush(client: TestClient) -> None:
    client.app.api.state.funnel.flush()  # type: ignore[attr-defined]


def test_a_scripted_visit_counts_exactly(client: TestClient, engine: Engine) -> None:
    scripted_visit(client)
    flush(client)
    assert counts(engine) == EXPECTED_FUNNEL
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
    assert counts(engine) == EXPECTED_FUNNEL + Counter(
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
