"""The CPD log over HTTP on SQLite and PostgreSQL: the opt-in, the beacon's limits, the counting
rule, reflections with versions, the log page, certificate, downloads, and whose log is whose."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cpd_helpers import FOURTH, TOPICS, CpdReader, FakeClock, recorder, seconds_logged
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from visitors import signed_in_cookie

from site_api.config import Settings
from site_api.cpd.api import BEACON_BYTES
from site_api.cpd.clock import BEACONS_PER_MINUTE
from site_api.cpd.recorder import CpdRecorder
from site_api.models import CpdReading, CpdReflection, User
from site_api.web.app import create_app

ALICE = "alice@example.org"
BOB = "bob@example.org"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """A client whose server credits beacons on `clock`, reporting a server error as a 500."""
    with TestClient(
        create_app(settings), base_url="http://127.0.0.1:8000", raise_server_exceptions=False
    ) as test_client:
        recorder(test_client).now = clock
        yield test_client


@pytest.fixture
def alice(client: TestClient, settings: Settings) -> CpdReader:
    return CpdReader(client, signed_in_cookie(settings, email=ALICE))


@pytest.fixture
def bob(client: TestClient, settings: Settings) -> CpdReader:
    return CpdReader(client, signed_in_cookie(settings, email=BOB))


def _utc_day(clock: FakeClock) -> str:
    return datetime.fromtimestamp(clock(), UTC).date().isoformat()


def read(reader: CpdReader, clock: FakeClock, page: str, seconds: int, view: str) -> int:
    """The reader keeps `page` in front for `seconds`, then hides it (one beacon)."""
    clock.advance(seconds)
    response = reader.beacon(page, seconds, view=view)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, no-store"
    return int(response.json()["credited"])


def test_done_when_three_topics_two_reflections_certificate(
    client: TestClient, alice: CpdReader, clock: FakeClock, engine: Engine
) -> None:
    """The issue's scenario: opt in, read three topics for the minimum time, reflect on two,
    and the certificate shows 0.10 claimed hours of 0.15 logged."""
    alice.switch(True)
    for i, topic in enumerate(TOPICS):
        assert read(alice, clock, topic, 180, f"view-{i:04d}") == 180
    assert seconds_logged(engine, ALICE) == {}  # no write on the beacon's path
    recorder(client).flush()
    assert seconds_logged(engine, ALICE) == dict.fromkeys(TOPICS, 180)
    day = _utc_day(clock)
    for topic in TOPICS[:2]:
        response = alice.reflect_json(day, topic, learned=f"What {topic} taught me", change="")
        assert response.status_code == 201, response.text
    certificate = alice.get("/account/cpd/certificate", start=day, end=day)
    assert certificate.status_code == 200
    html = certificate.text
    assert "<dd data-cpd-claimed>0.10</dd>" in html
    assert "<dd data-cpd-logged>0.15</dd>" in html
    assert html.count("data-cpd-claim=") == 2
    assert "What stills-disease taught me" in html and TOPICS[2] not in html.split("Claimed")[1]
    assert certificate.headers["cache-control"] == "private, no-store"
    page = alice.get("/account/cpd").text
    assert "<strong>0.15</strong> hours logged" in page
    assert "<strong>0.10</strong> hours claimed" in page


def test_a_topic_counts_from_the_minimum_time_in_a_day(
    client: TestClient, alice: CpdReader, clock: FakeClock
) -> None:
    alice.switch(True)
    read(alice, clock, TOPICS[0], 100, "view-a001")
    read(alice, clock, TOPICS[0], 79, "view-a002")  # 179 s: not yet
    recorder(client).flush()
    assert "data-cpd-entry" not in alice.get("/account/cpd").text
    read(alice, clock, TOPICS[0], 1, "view-a003")
    recorder(client).flush()
    assert alice.get("/account/cpd").text.count("data-cpd-entry=") == 1


def test_beacon_refuses_bad_input_without_effect(
    client: TestClient, alice: CpdReader, clock: FakeClock, engine: Engine
) -> None:
    anonymous = client.post(
        "/api/cpd/beacon",
        content=json.dumps({"page": TOPICS[0], "view": "view-0001", "seconds": 200}),
        headers={"content-type": "text/plain", "sec-fetch-site": "same-origin"},
    )
    assert anonymous.status_code == 401
    clock.advance(600)
    assert alice.beacon(TOPICS[0], 200).status_code == 403  # not opted in
    alice.switch(True)
    bad: list[tuple[int, bytes]] = [
        (404, json.dumps({"page": "no-such-topic", "view": "view-0002", "seconds": 200}).encode()),
        (422, json.dumps({"page": "../etc", "view": "view-0002", "seconds": 200}).encode()),
        (422, json.dumps({"page": TOPICS[0], "view": "x", "seconds": 200}).encode()),
        (422, json.dumps({"page": TOPICS[0], "view": "view-0002", "seconds": -5}).encode()),
        (422, json.dumps({"page": TOPICS[0], "view": "view-0002", "seconds": 1e300}).encode()),
        (
            422,
            json.dumps({"page": TOPICS[0], "view": "view-0002", "seconds": "200"}).encode() + b"x",
        ),
        (422, b'{"page": "kawasaki-disease", "view": "view-0002", "seconds": NaN}'),
        (422, b'{"page": "kawasaki-disease", "view": "view-0002", "seconds": Infinity}'),
        (422, json.dumps({"page": TOPICS[0], "view": "view-0002", "seconds": "abc"}).encode()),
        (
            422,
            json.dumps({"page": TOPICS[0], "view": "view-0002", "seconds": 5, "user": 1}).encode(),
        ),
        (422, b"\xff\xfe not json"),
        (422, b""),
        (
            413,
            b'{"page": "kawasaki-disease", "view": "view-0002", "seconds": 5'
            + b" " * BEACON_BYTES
            + b"}",
        ),
    ]
    for status, body in bad:
        response = alice.beacon("", 0, raw=body)
        assert response.status_code == status, (body[:80], response.text)
        detail = response.json()["detail"]
        assert isinstance(detail, str) and detail.strip()
    # Beyond the body limit of every API path: refused before a byte is read.
    huge = alice.beacon("", 0, raw=b"x" * (70 * 1024))
    assert huge.status_code == 413
    recorder(client).flush()
    assert seconds_logged(engine, ALICE) == {}
    # A beacon from another site's page is refused as every cross-site write is.
    cross = client.post(
        "/api/cpd/beacon",
        content=json.dumps({"page": TOPICS[0], "view": "view-0003", "seconds": 200}),
        headers={**alice.headers, "sec-fetch-site": "cross-site"},
    )
    assert cross.status_code == 403


def test_huge_totals_are_clamped_to_the_cap_and_replays_add_nothing(
    client: TestClient, alice: CpdReader, clock: FakeClock, engine: Engine, settings: Settings
) -> None:
    alice.switch(True)
    cap = settings.cpd_max_seconds
    clock.advance(86_400)
    assert alice.beacon(TOPICS[0], 86_400, view="view-big1").json()["credited"] == cap
    clock.advance(60)
    # The same view again (a replay, or the same total twice): nothing new.
    assert alice.beacon(TOPICS[0], 86_400, view="view-big1").json()["credited"] == 0
    # A new view of the same topic the same day: the stored total still stops at the cap.
    clock.advance(cap)
    assert alice.beacon(TOPICS[0], cap, view="view-big2").json()["credited"] == cap
    recorder(client).flush()
    assert seconds_logged(engine, ALICE) == {TOPICS[0]: cap}


def test_two_tabs_do_not_double_count(
    client: TestClient, alice: CpdReader, clock: FakeClock, engine: Engine
) -> None:
    """Two views reporting the same 200 seconds of wall time get 200 between them, not 400."""
    alice.switch(True)
    clock.advance(200)
    assert alice.beacon(TOPICS[0], 200, view="tab-one-1").json()["credited"] == 200
    clock.advance(1)
    assert alice.beacon(TOPICS[1], 200, view="tab-two-1").json()["credited"] == 1
    # A view id is of one page: reusing it for another earns nothing.
    clock.advance(300)
    assert alice.beacon(TOPICS[2], 300, view="tab-one-1").json()["credited"] == 0
    recorder(client).flush()
    assert sum(seconds_logged(engine, ALICE).values()) == 201


def test_a_flood_is_limited_per_minute(
    client: TestClient, alice: CpdReader, clock: FakeClock
) -> None:
    alice.switch(True)
    statuses = [
        alice.beacon(TOPICS[0], i, view="view-rate").status_code
        for i in range(BEACONS_PER_MINUTE + 5)
    ]
    assert statuses[:BEACONS_PER_MINUTE] == [200] * BEACONS_PER_MINUTE
    assert set(statuses[BEACONS_PER_MINUTE:]) == {429}
    clock.advance(60)
    assert alice.beacon(TOPICS[0], 100, view="view-rate").status_code == 200


def test_two_workers_add_up_and_stop_at_the_cap(
    engine: Engine, settings: Settings, alice: CpdReader
) -> None:
    """Each worker flushes its own seconds; the upsert adds them and never passes the cap."""
    alice.switch(True)
    with Session(engine) as db:
        user_id = db.exec(select(User.id).where(User.email == ALICE)).one()
    assert user_id is not None
    cap = settings.cpd_max_seconds
    workers = [CpdRecorder(engine, cap, FakeClock()) for _ in range(2)]
    for i, worker in enumerate(workers):
        worker.report(user_id, FOURTH, f"view-w{i}00", 600, now=1_796_000_000.0)
        worker.flush()
    assert seconds_logged(engine, ALICE) == {FOURTH: 1200}
    for i, worker in enumerate(workers):
        worker.report(user_id, FOURTH, f"view-w{i}01", cap, now=1_796_003_000.0)
        worker.flush()
    assert seconds_logged(engine, ALICE) == {FOURTH: cap}


def test_switching_off_stops_recording_and_clear_empties_the_log(
    client: TestClient, alice: CpdReader, clock: FakeClock, engine: Engine
) -> None:
    alice.switch(True)
    read(alice, clock, TOPICS[0], 200, "view-c001")
    recorder(client).flush()
    clock.advance(200)
    alice.beacon(TOPICS[1], 200, view="view-c002")  # waiting in memory when switched off
    alice.switch(False)
    recorder(client).flush()
    assert seconds_logged(engine, ALICE) == {TOPICS[0]: 200}  # the log is kept, nothing added
    clock.advance(200)
    assert alice.beacon(TOPICS[1], 200, view="view-c003").status_code == 403
    assert "Recording is <strong>off</strong>" in alice.get("/account/cpd").text
    assert alice.post("/account/cpd/clear").status_code == 303
    assert seconds_logged(engine, ALICE) == {}
    assert alice.post("/account/cpd/clear", csrf_token="").status_code == 303  # own token wins
    forged = client.post(
        "/account/cpd/clear",
        data={"csrf_token": "wrong"},
        headers=alice.headers,
        follow_redirects=False,
    )
    assert forged.status_code == 403


def test_reflections_are_versioned(client: TestClient, alice: CpdReader, clock: FakeClock) -> None:
    alice.switch(True)
    read(alice, clock, TOPICS[0], 200, "view-r001")
    recorder(client).flush()
    day = _utc_day(clock)
    assert alice.reflect_json(day, TOPICS[1], learned="x").status_code == 404  # not read
    assert alice.reflect_json("2026-13-01", TOPICS[0], learned="x").status_code == 422
    assert alice.reflect_json(day, TOPICS[0], learned="   ").status_code == 422
    assert alice.reflect_json(day, TOPICS[0], learned="a\x00b").status_code == 422
    assert alice.reflect_json(day, TOPICS[0], learned="x" * 2001).status_code == 422
    first = alice.reflect_json(day, TOPICS[0], learned="First", further="Read the guideline")
    assert first.status_code == 201 and first.json()["version"] == 1
    assert alice.reflect_json(day, TOPICS[0], learned="Again").status_code == 409  # exists
    second = alice.reflect_json(day, TOPICS[0], learned="Second", version=1)
    assert second.status_code == 200 and second.json()["version"] == 2
    stale = alice.reflect_json(day, TOPICS[0], learned="From an old tab", version=1)
    assert stale.status_code == 409
    assert stale.json()["current"]["learned"] == "Second"
    # The form without JavaScript: a stale version shows the saved reflection beside the text.
    form = alice.post(
        "/account/cpd/reflect", page=TOPICS[0], day=day, learned="Form text", version="1"
    )
    assert form.status_code == 409
    assert "Second" in form.text and "Form text" in form.text
    saved = alice.post(
        "/account/cpd/reflect", page=TOPICS[0], day=day, learned="<b>Form</b> text", version="2"
    )
    assert saved.status_code == 303
    page = alice.get("/account/cpd", claimed="claimed").text
    assert "&lt;b&gt;Form&lt;/b&gt; text" in page and "<b>Form</b>" not in page
    assert alice.get("/account/cpd", claimed="unclaimed").text.count("data-cpd-entry=") == 0
    gone = client.delete(f"/api/cpd/reflections/{day}/{TOPICS[0]}?version=3", headers=alice.headers)
    assert gone.status_code == 204
    assert alice.get("/account/cpd", claimed="unclaimed").text.count("data-cpd-entry=") == 1


def test_the_log_is_its_owners_alone(
    client: TestClient, alice: CpdReader, bob: CpdReader, clock: FakeClock, settings: Settings
) -> None:
    alice.switch(True)
    read(alice, clock, TOPICS[0], 200, "view-p001")
    recorder(client).flush()
    day = _utc_day(clock)
    assert alice.reflect_json(day, TOPICS[0], learned="Alice's private thought").status_code == 201
    # Bob (or an editor) sees no entry of hers, anywhere.
    editor = CpdReader(client, signed_in_cookie(settings, email="ed@example.org"))
    with Session(create_app(settings).api.state.engine) as db:
        row = db.exec(select(User).where(User.email == "ed@example.org")).one()
        row.role = "editor"
        db.add(row)
        db.commit()
    for other in (bob, editor):
        for path in (
            "/account/cpd",
            "/account/cpd/certificate",
            "/account/cpd.json",
            "/account/cpd.csv",
        ):
            response = other.get(path)
            assert response.status_code == 200
            assert "Alice" not in response.text and TOPICS[0] not in response.text
        assert other.reflect_json(day, TOPICS[0], learned="mine now").status_code == 404
        assert other.get("/account/cpd/reflect", page=TOPICS[0], day=day).status_code == 404
        response = client.delete(
            f"/api/cpd/reflections/{day}/{TOPICS[0]}?version=1", headers=other.headers
        )
        assert response.status_code == 404
    desk = editor.get("/editorial/")
    assert desk.status_code == 200
    assert "Alice" not in desk.text and ALICE not in desk.text
    assert "data-cpd-recording>1<" in desk.text
    # Signed out: sent to sign in, nothing shown.
    for path in (
        "/account/cpd",
        "/account/cpd/certificate",
        "/account/cpd.json",
        "/account/cpd.csv",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and "Alice" not in response.text
    put = client.put(f"/api/cpd/reflections/{day}/{TOPICS[0]}", json={"learned": "x"})
    assert put.status_code == 401


def test_downloads_and_download_my_data(
    client: TestClient, alice: CpdReader, clock: FakeClock
) -> None:
    alice.switch(True)
    read(alice, clock, TOPICS[0], 200, "view-d001")
    read(alice, clock, TOPICS[1], 200, "view-d002")
    recorder(client).flush()
    day = _utc_day(clock)
    alice.reflect_json(day, TOPICS[0], learned='=HYPERLINK("http://evil")', change="Check ferritin")
    data = alice.get("/account/cpd.json")
    assert data.status_code == 200 and "attachment" in data.headers["content-disposition"]
    assert data.headers["cache-control"] == "private, no-store"
    entries = data.json()["entries"]
    assert [
        (e["page_id"], e["claimed"], e["minutes"])
        for e in sorted(entries, key=lambda e: e["page_id"])
    ] == [
        (TOPICS[0], True, 3),
        (TOPICS[1], False, 3),
    ]
    text = alice.get("/account/cpd.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2
    claimed = next(r for r in rows if r["page_id"] == TOPICS[0])
    assert claimed["learned"].startswith("'=")  # inert in a spreadsheet
    assert claimed["change"] == "Check ferritin"
    assert alice.get("/account/cpd.csv", start="not-a-date").status_code == 400
    everything = alice.get("/account/export.json").json()
    assert everything["cpd_log"]["recording"] is True
    assert len(everything["cpd_log"]["entries"]) == 2


def test_deleting_the_account_deletes_the_log(
    client: TestClient, alice: CpdReader, clock: FakeClock, engine: Engine
) -> None:
    alice.switch(True)
    read(alice, clock, TOPICS[0], 200, "view-x001")
    recorder(client).flush()
    alice.reflect_json(_utc_day(clock), TOPICS[0], learned="Something")
    response = alice.post("/account/delete", confirm_email=ALICE)
    assert response.status_code == 200, response.text
    with Session(engine) as db:
        assert db.exec(select(CpdReading)).all() == []
        assert db.exec(select(CpdReflection)).all() == []


def test_bad_filters_are_a_message_not_an_error(client: TestClient, alice: CpdReader) -> None:
    for params in (
        {"start": "yesterday"},
        {"start": "2026-05-02", "end": "2026-05-01"},
        {"claimed": "x"},
        {"year": "20x6"},
    ):
        response = alice.get("/account/cpd", **params)
        assert response.status_code == 400
        assert "form-errors" in response.text
    assert alice.get("/account/cpd/certificate", start="x").status_code == 400
    assert alice.get("/account/cpd/reflect", page="x" * 500, day="2026-01-01").status_code == 404


def test_the_account_page_offers_the_switch_and_says_javascript_is_needed(
    client: TestClient, alice: CpdReader
) -> None:
    page = alice.get("/account").text
    assert "Record my reading for CPD" in page
    assert "without it nothing is logged" in page
    response = client.post(
        "/account/cpd/switch",
        data={"record": "on", "back": "account", "csrf_token": alice.csrf},
        headers=alice.headers,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/account?done=cpd-on#cpd"
    page = alice.get("/account", done="cpd-on").text
    assert "Stop recording my reading" in page and 'href="/account/cpd"' in page
    assert "Your reading is now recorded for CPD" in page
    state = client.get(f"/api/reader/{TOPICS[0]}", headers=alice.headers).json()
    assert state["cpd"] is True


def test_the_latest_entry_on_a_topic_is_the_readers_own(
    client: TestClient, alice: CpdReader, bob: CpdReader, clock: FakeClock
) -> None:
    alice.switch(True)
    assert alice.get(f"/api/cpd/entries/{TOPICS[0]}").json() == {"entry": None}
    read(alice, clock, TOPICS[0], 200, "view-e001")
    recorder(client).flush()
    assert bob.get(f"/api/cpd/entries/{TOPICS[0]}").json() == {"entry": None}
    recorder(client).flush()
    day = _utc_day(clock)
    entry = alice.get(f"/api/cpd/entries/{TOPICS[0]}").json()["entry"]
    alice_id = entry["draft_key"].split(":")[1]
    assert entry == {
        "page_id": TOPICS[0],
        "day": day,
        "claimed": False,
        "reflect_url": f"/account/cpd/reflect?page={TOPICS[0]}&day={day}",
        "reflection": None,
        # The browser keeps an unsaved reflection per reader and entry.
        "draft_key": f"cpd-draft:{alice_id}:{day}:{TOPICS[0]}",
    }
    form = client.get(entry["reflect_url"], headers=alice.headers)
    assert form.status_code == 200 and "What did you learn?" in form.text
    assert f'data-draft-key="{entry["draft_key"]}"' in form.text
    saved = alice.reflect_json(day, TOPICS[0], learned="Check ferritin daily", version=None)
    assert saved.status_code == 201, saved.text
    entry = alice.get(f"/api/cpd/entries/{TOPICS[0]}").json()["entry"]
    assert entry["claimed"] is True
    assert entry["reflection"]["learned"] == "Check ferritin daily"
    assert entry["reflection"]["version"] == 1
    bob.switch(True)
    read(bob, clock, TOPICS[0], 200, "view-e002")
    recorder(client).flush()
    bobs = bob.get(f"/api/cpd/entries/{TOPICS[0]}").json()["entry"]
    assert bobs["reflection"] is None and bobs["draft_key"] != entry["draft_key"]
    assert client.get(f"/api/cpd/entries/{TOPICS[0]}").status_code == 401
    assert alice.get("/api/cpd/entries/Not_An_Id").status_code == 422
