"""/api/search and /search: who sees a snippet, no leak, no spend, bad input, unanswered queries."""

from __future__ import annotations

import html
import os
import re
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pytest
from conftest import TEST_KEY
from visitors import TOPICS, full_cookie, signed_in_cookie

from site_api.config import Settings
from site_api.content.search_index import WORD_RE, search_index_path_for
from site_api.db import make_engine
from site_api.search.misses import PER_CLIENT, top_misses
from site_api.serving.meter import MeterCookie, MeterState, page_token
from site_api.web.app import create_app

HLH = "haemophagocytic-lymphohistiocytosis"
HLH_URL = f"/topics/{HLH}/"


def results(response: httpx.Response) -> list[dict[str, object]]:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "private, no-store"
    assert "set-cookie" not in response.headers, "searching never touches the meter"
    body = response.json()
    assert set(body) == {"query", "results", "did_you_mean"}
    return body["results"]  # type: ignore[no-any-return]


def meter_cookie(*page_ids: str) -> str:
    state = MeterState(int(time.time()) - 60, tuple(page_token(p) for p in page_ids))
    return "meter=" + MeterCookie(TEST_KEY.encode()).dumps(state)


def test_signed_in_etoposide_finds_hlh_with_a_snippet(
    client: httpx.Client, settings: Settings
) -> None:
    cookie = signed_in_cookie(settings)
    [first, *_] = results(client.get("/api/search?q=etoposide", headers={"cookie": cookie}))
    assert first["url"] == HLH_URL and first["title"] == "Haemophagocytic lymphohistiocytosis"
    assert set(first) == {"title", "url", "section", "summary", "snippet"}
    assert "<mark>etoposide</mark>" in str(first["snippet"])


def test_anonymous_past_the_meter_finds_hlh_by_a_body_word_without_its_body(
    client: httpx.Client,
) -> None:
    for cookie in ("", full_cookie()):
        [first] = results(client.get("/api/search?q=etoposide", headers={"cookie": cookie}))
        assert first["url"] == HLH_URL and first["snippet"] is None
        assert str(first["summary"]).startswith("A syndrome of pathological immune activation")


def test_anonymous_sees_a_snippet_of_a_page_already_counted_or_free(client: httpx.Client) -> None:
    counted = meter_cookie(HLH)
    [first] = results(client.get("/api/search?q=etoposide", headers={"cookie": counted}))
    assert "<mark>etoposide</mark>" in str(first["snippet"])
    other = meter_cookie("kawasaki-disease")
    [first] = results(client.get("/api/search?q=etoposide", headers={"cookie": other}))
    assert first["snippet"] is None
    about = results(client.get("/api/search?q=healthcare professionals"))
    free = [r for r in about if r["url"] in ("/about/", "/terms/")]
    assert free and all("<mark>" in str(r["snippet"]) for r in free)


def test_searching_never_spends_the_meter(client: httpx.Client) -> None:
    cookie = meter_cookie("kawasaki-disease")
    for q in ("etoposide", "kawasaki", "MAS", "ferritin", "lupus", "zzzz"):
        results(client.get(f"/api/search?q={q}", headers={"cookie": cookie}))
        page = client.get(f"/search?q={q}", headers={"cookie": cookie})
        assert page.status_code == 200
        assert not [c for c in page.headers.get_list("set-cookie") if c.startswith("meter=")]
    view = client.get("/topics/pancytopenia/", headers={"cookie": cookie})
    assert "You can read 3 more topics before signing in." in view.text


def _metered_bodies(built_site: Path) -> dict[str, tuple[str, str, list[str]]]:
    """page id → (title, summary, body sentences of 30+ characters) of every metered page."""
    db = sqlite3.connect(search_index_path_for(built_site))
    found = {}
    for page_id, title, summary, body in db.execute(
        "SELECT page_id, title, summary, body FROM page WHERE access = 'metered'"
    ):
        sentences = [s.strip() for s in re.split(r"(?<=[.;:!?])\s+", body)]
        found[page_id] = (title, summary, [s for s in sentences if len(s) >= 30])
    return found


def _free_text(built_site: Path) -> list[str]:
    """Everything the free pages' index rows hold: anyone may read it."""
    db = sqlite3.connect(search_index_path_for(built_site))
    rows = db.execute("SELECT title, aliases, summary, body FROM page WHERE access = 'free'")
    return [" ".join(row) for row in rows]


def _visible_text(response: httpx.Response, q: str = "") -> str:
    """What a response shows, less the reader's own query (echoed back, so never a leak)."""
    if response.headers["content-type"].startswith("application/json"):
        text = " ".join(str(v) for r in response.json()["results"] for v in r.values())
    else:
        text = html.unescape(re.sub(r"<[^>]+>", " ", response.text))
    for echo in (q, q.strip()[:80]) if q else ():  # the box's value, the status line, the title
        text = text.replace(echo, " ")
    return " ".join(text.split())


def _leaks(
    text: str, bodies: dict[str, tuple[str, str, list[str]]], readable: str = ""
) -> list[str]:
    """Body passages in `text`: any 6 running words of a body sentence that are not public
    (in no title or summary) nor in `readable` (bodies this visitor may read)."""
    public = " ".join(
        " ".join(WORD_RE.findall(f"{t} {s}")) for t, s, _ in bodies.values()
    ) + " ".join(WORD_RE.findall(readable))
    flat = " ".join(WORD_RE.findall(text))
    leaked = []
    for _, _, sentences in bodies.values():
        for sentence in sentences:
            w = WORD_RE.findall(sentence)
            for i in range(max(len(w) - 5, 0)):
                run = " ".join(w[i : i + 6])
                if run in flat and run not in public:
                    leaked.append(run)
    return leaked


def test_no_metered_body_reaches_an_anonymous_search(
    client: httpx.Client, built_site: Path
) -> None:
    bodies = _metered_bodies(built_site)
    assert len(bodies) >= 10
    unread = {k: v for k, v in bodies.items() if k not in TOPICS}
    # What free pages say is no leak when a metered body says it too (a calculator's page names
    # the International Society on Thrombosis and Haemostasis, as the DIC topic does).
    free = " ".join(_free_text(built_site))
    counted = " ".join(" ".join(v[2]) for k, v in bodies.items() if k in TOPICS)
    for page_id, (_, _, sentences) in bodies.items():
        assert sentences, page_id
        queries = set()
        for sentence in sentences[:: max(len(sentences) // 6, 1)]:
            w = WORD_RE.findall(sentence)
            queries |= {" ".join(w[:3]), " ".join(w[-4:]), max(w, key=len), sentence[:200]}
        for q in sorted(queries):
            # Past the meter: the five topics it counted are readable, every other body is not.
            for cookie, hidden, readable in (
                ("", bodies, free),
                (full_cookie(), unread, f"{counted} {free}"),
            ):
                headers = {"cookie": cookie}
                json_answer = client.get(
                    "/api/search", params={"q": q, "limit": 50}, headers=headers
                )
                page = client.get("/search", params={"q": q}, headers=headers)
                assert json_answer.status_code == page.status_code == 200
                for answer in (json_answer, page):
                    text = _visible_text(answer, q)
                    assert _leaks(text, hidden, readable) == [], (page_id, q)


def test_the_leak_check_sees_a_leak(
    client: httpx.Client, built_site: Path, settings: Settings
) -> None:
    """The check above would notice a body: a signed-in reader's snippets trip it."""
    bodies = _metered_bodies(built_site)
    answer = client.get("/api/search?q=etoposide", headers={"cookie": signed_in_cookie(settings)})
    assert _leaks(_visible_text(answer), bodies)


def test_search_page_works_without_javascript(client: httpx.Client, settings: Settings) -> None:
    page = client.get("/search?q=hemophagocytic")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "private, no-store"
    assert "This site is intended for healthcare professionals" in page.text  # the site frame
    assert f'<a href="{HLH_URL}">Haemophagocytic lymphohistiocytosis</a>' in page.text
    assert 'value="hemophagocytic"' in page.text
    # A fresh visitor sees snippets of free pages only (the home page), none of a metered topic.
    hlh = page.text.split(f'<a href="{HLH_URL}">', 1)[1].split('<li class="search-result">', 1)[0]
    assert "search-result__snippet" not in hlh
    signed = client.get("/search?q=etoposide", headers={"cookie": signed_in_cookie(settings)})
    assert re.search(r'class="search-result__snippet">[^<]*<mark>etoposide</mark>', signed.text)
    assert "No topics found for “zzzzqqqq”" in client.get("/search?q=zzzzqqqq").text
    assert client.get("/search").status_code == 200


def test_user_text_stays_inert(client: httpx.Client) -> None:
    q = '<script>alert(1)</script><img src=x onerror=alert(1)> "ferritin'
    page = client.get("/search", params={"q": q})
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert results(client.get("/api/search", params={"q": q}))


BAD_QUERIES = [
    "",
    " ",
    "a",
    "x" * 1000,
    "ferritin " * 110,
    '"',
    "*",
    "-",
    ":",
    "NEAR",
    "AND",
    "OR NOT",
    "(",
    ")",
    '"ferritin',
    "ferritin\"'",
    "NEAR(ferritin kawasaki, 2)",
    "title:ferritin",
    "^ferritin",
    "ferritin*",
    "\x00\x01\x1f\x7f",
    "ferritin\x00kawasaki",
    "\u202eferritin",
    "🙂",
    "ｆｅｒｒｉｔｉｎ",
]


@pytest.mark.parametrize("q", BAD_QUERIES, ids=range(len(BAD_QUERIES)))
def test_bad_queries_are_answered_not_failed(client: httpx.Client, q: str) -> None:
    for path in ("/api/search", "/search"):
        response = client.get(path, params={"q": q})
        assert response.status_code == 200, (path, q, response.text[:200])
    assert isinstance(results(client.get("/api/search", params={"q": q})), list)


def test_out_of_range_input_is_422_with_a_message(client: httpx.Client) -> None:
    for params in [
        {"q": "x" * 1001},
        {"q": "ferritin", "limit": "0"},
        {"q": "ferritin", "limit": "51"},
        {"q": "ferritin", "limit": "many"},
        {"q": "ferritin", "limit": "-1"},
    ]:
        response = client.get("/api/search", params=params)
        assert response.status_code == 422 and response.json()["detail"], params
    page = client.get("/search", params={"q": "x" * 1001}, headers={"accept": "text/html"})
    assert page.status_code == 422 and "Check what you entered" in page.text
    assert results(client.get("/api/search", params={"q": "ferritin", "limit": "50"}))


def test_invalid_utf8_in_the_url(live_server: str) -> None:
    from conftest import raw_request

    for target in ("/api/search?q=%FF%FE%C3", "/search?q=%C3%28ferritin", "/api/search?q=%00"):
        status, _, _ = raw_request(live_server, "GET", target)
        assert status in (200, 422), target


def test_search_is_in_the_openapi_schema(client: httpx.Client) -> None:
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/search"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"q", "limit"}
    result = schema["components"]["schemas"]["SearchResult"]["properties"]
    assert set(result) == {"title", "url", "section", "summary", "snippet"}
    assert "/search" not in schema["paths"]


def proxied(settings: Settings) -> httpx.Client:
    """A client of an app behind a trusted proxy (the test client), so each request may name
    its reader's address in X-Forwarded-For."""
    from fastapi.testclient import TestClient

    trusting = settings.model_copy(update={"trusted_proxies": ["testclient"]})
    return TestClient(create_app(trusting), base_url="http://127.0.0.1:8000")


def from_address(address: str) -> dict[str, str]:
    return {"x-forwarded-for": address}


def test_unanswered_queries_are_counted_per_normalised_query_and_day(settings: Settings) -> None:
    with proxied(settings) as client:
        for n, q in enumerate(
            ("Zzqx Wobble", "zzqx  WOBBLE", "zzqx wöbble", "kawasaki", "zzqx wobble")
        ):
            client.get("/api/search", params={"q": q}, headers=from_address(f"192.0.2.{n}"))
        client.get("/api/search", params={"q": "suggestionless", "suggest": "true"})  # typing
        client.get("/search", params={"q": "Nothingatall"})
        client.app.api.state.search_misses.flush()  # type: ignore[attr-defined]
        engine = make_engine(settings.database_url)
        assert top_misses(engine, days=1, limit=10) == [("zzqx wobble", 4), ("nothingatall", 1)]
        with engine.connect() as connection:
            columns = connection.exec_driver_sql("SELECT * FROM search_miss").keys()
            assert set(columns) == {"day", "query", "count"}, "no reader, session or address"
            days = connection.exec_driver_sql("SELECT day FROM search_miss").scalars().all()
            assert {str(d) for d in days} == {date.today().isoformat()}
        # Another reader adds to the same row; a reader already counted today does not.
        client.get("/api/search", params={"q": "zzqx wobble"}, headers=from_address("192.0.2.9"))
        client.get("/api/search", params={"q": "zzqx wobble"}, headers=from_address("192.0.2.0"))
        client.app.api.state.search_misses.flush()  # type: ignore[attr-defined]
        assert top_misses(engine, days=1, limit=1) == [("zzqx wobble", 5)]


def test_one_clients_flood_cannot_move_the_editors_list(settings: Settings) -> None:
    with proxied(settings) as client:
        for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
            client.get(
                "/api/search", params={"q": "zzqx tocilizumabb"}, headers=from_address(address)
            )
        flood = from_address("198.51.100.7")
        for _ in range(210):
            client.get("/api/search", params={"q": "qqzz wxyv"}, headers=flood)
        for n in range(40):  # many different queries: only the first PER_CLIENT count
            client.get("/api/search", params={"q": f"qqzz wxyv {n}"}, headers=flood)
        client.app.api.state.search_misses.flush()  # type: ignore[attr-defined]
        top = top_misses(make_engine(settings.database_url), days=1, limit=100)
        assert top[0] == ("zzqx tocilizumabb", 3)
        assert dict(top)["qqzz wxyv"] == 1
        assert sum(n for q, n in top if q.startswith("qqzz")) == PER_CLIENT


def test_unanswered_queries_reach_the_desk_without_further_traffic(settings: Settings) -> None:
    from fastapi.testclient import TestClient

    quick = settings.model_copy(update={"funnel_flush_seconds": 0.2})
    engine = make_engine(settings.database_url)
    with TestClient(create_app(quick), base_url="http://127.0.0.1:8000") as client:
        # Words within two edits of nothing indexed, so no spelling correction answers them.
        client.get("/api/search", params={"q": "zzqx qwvxb"})
        deadline = time.monotonic() + 30
        while not top_misses(engine, days=1, limit=5) and time.monotonic() < deadline:
            time.sleep(0.1)  # no request: only the app's own timer can write it
        assert top_misses(engine, days=1, limit=5) == [("zzqx qwvxb", 1)]


def test_search_report_prints_the_top_unanswered_queries(settings: Settings) -> None:
    with proxied(settings) as client:
        for n, q in enumerate(("fooqux", "fooqux", "barqux")):
            client.get("/api/search", params={"q": q}, headers=from_address(f"192.0.2.{n}"))
        client.app.api.state.search_misses.flush()  # type: ignore[attr-defined]
    env = {
        **os.environ,
        "SITE_DATABASE_URL": settings.database_url,
        "SITE_VAR_DIR": str(settings.var_dir),
    }
    report = subprocess.run(
        [str(Path(sys.executable).with_name("site-api")), "search-report", "--days", "7"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert report.returncode == 0, report.stderr
    lines = report.stdout.strip().splitlines()
    assert lines[-2:] == ["2\tfooqux", "1\tbarqux"]


def test_a_bad_parameter_answers_as_the_schema_says(client: httpx.Client) -> None:
    """422 with `detail` a sentence, as declared (schemathesis found a list declared)."""
    answer = client.get("/api/search", params={"q": "ferritin", "suggest": "maybe"})
    assert answer.status_code == 422 and answer.headers["cache-control"] == "private, no-store"
    assert isinstance(answer.json()["detail"], str) and "suggest" in answer.json()["detail"]
    schema = client.get("/api/openapi.json").json()
    declared = schema["paths"]["/api/search"]["get"]["responses"]["422"]["content"]
    assert declared["application/json"]["schema"] == {"$ref": "#/components/schemas/Detail"}
