"""The editorial desk over HTTP: who may reach each route, report triage (status, remark,
filters, CSV), the review queue, unanswered searches, and bad input (4xx with a message)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from conftest import copy_project, mkdocs_build
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from visitors import TOPICS

from site_api.accounts import users
from site_api.config import Settings
from site_api.models import ProblemReport
from site_api.reports import store
from site_api.search.misses import MissCounter
from site_api.web.app import create_app

PASSWORD = "correct horse battery staple"
EDITOR = "editor@example.org"
READER = "reader@example.org"
ROUTES = [
    ("GET", "/editorial/"),
    ("GET", "/editorial"),
    ("GET", "/editorial/reports.csv"),
    ("GET", "/editorial/funnel"),
    ("GET", "/editorial/funnel.csv"),
    ("POST", "/editorial/reports/{report}"),
]


def csrf(client: httpx.Client) -> str:
    if "csrf" not in client.cookies:
        client.get("/sign-in")
    return client.cookies["csrf"]


def sign_in(client: httpx.Client, email: str) -> None:
    data = {"email": email, "password": PASSWORD, "csrf_token": csrf(client), "next": "/"}
    response = client.post("/sign-in", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text


def add_report(
    engine: Engine, page_id: str = TOPICS[0], what: str = "Dose is wrong", **kw: object
) -> int:
    checked = store.check(page_id, what, str(kw.get("reference", "")), str(kw.get("email", "")))
    user_id = kw.get("user_id")
    return store.save(engine, checked, user_id if isinstance(user_id, int) else None, "192.0.2.1")


@pytest.fixture
def people(engine: Engine) -> None:
    users.create_user(engine, EDITOR, PASSWORD, verified=True, editor=True)
    users.create_user(engine, READER, PASSWORD, verified=True)


def request(client: httpx.Client, method: str, path: str, report: int) -> httpx.Response:
    path = path.format(report=report)
    if method == "GET":
        return client.get(path, follow_redirects=False)
    data = {"csrf_token": csrf(client), "status": "resolved", "remark": "fixed in v2"}
    return client.post(path, data=data, follow_redirects=False)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_is_sent_to_sign_in(
    client: httpx.Client, engine: Engine, people: None, method: str, path: str
) -> None:
    report = add_report(engine)
    response = request(client, method, path, report)
    assert response.status_code == 303
    expected = path.format(report=report) if method == "GET" else "/editorial/"
    assert response.headers["location"] == "/sign-in?next=" + expected
    assert response.headers["cache-control"] == "private, no-store"
    assert "Dose is wrong" not in response.text


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_reader_gets_not_found(
    client: httpx.Client, engine: Engine, people: None, method: str, path: str
) -> None:
    report = add_report(engine)
    sign_in(client, READER)
    response = request(client, method, path, report)
    assert response.status_code == 404
    assert "editorial" not in response.text.lower().split("<main", 1)[-1]
    assert "Dose is wrong" not in response.text
    with Session(engine) as db:
        row = db.get(ProblemReport, report)
        assert row is not None and row.status == "new"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_an_editor_gets_the_page(
    client: httpx.Client, engine: Engine, people: None, method: str, path: str
) -> None:
    report = add_report(engine)
    sign_in(client, EDITOR)
    response = request(client, method, path, report)
    if method == "POST":
        assert response.status_code == 303
        assert response.headers["location"] == f"/editorial/#report-{report}"
        with Session(engine) as db:
            row = db.get(ProblemReport, report)
            assert row is not None and (row.status, row.remark) == ("resolved", "fixed in v2")
    else:
        assert response.status_code == 200
        assert response.headers["cache-control"] == "private, no-store"


def test_a_reader_made_editor_on_the_command_line_reaches_the_desk(
    client: httpx.Client, engine: Engine, people: None
) -> None:
    sign_in(client, READER)
    assert client.get("/editorial/").status_code == 404
    users.set_role(engine, READER, "editor")
    assert client.get("/editorial/").status_code == 200
    users.set_role(engine, READER, "reader")
    assert client.get("/editorial/").status_code == 404


def test_reports_newest_first_inert_with_reply_address(
    client: httpx.Client, engine: Engine, people: None
) -> None:
    first = add_report(engine, TOPICS[0], "<script>alert(1)</script> ferritin cut-off")
    second = add_report(engine, TOPICS[1], "Second report", email="a@b.org", reference="NICE NG1")
    sign_in(client, EDITOR)
    page = client.get("/editorial/").text
    assert page.index(f'id="report-{second}"') < page.index(f'id="report-{first}"')
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; ferritin cut-off" in page
    assert "reply to a@b.org" in page and "Reference: NICE NG1" in page
    assert "no reply address" in page


def test_filter_by_status_and_topic_and_export_csv(
    client: httpx.Client, engine: Engine, people: None
) -> None:
    a = add_report(engine, TOPICS[0], '=HYPERLINK("http://evil") first')
    b = add_report(engine, TOPICS[1], "about the second topic")
    c = add_report(engine, TOPICS[0], "another on the first")
    sign_in(client, EDITOR)
    token = csrf(client)
    for report, status in ((a, "in_progress"), (c, "dismissed")):
        data = {"csrf_token": token, "status": status, "remark": f"remark {report}"}
        assert client.post(f"/editorial/reports/{report}", data=data).status_code == 200

    def shown(**query: str) -> set[int]:
        text = client.get("/editorial/", params=query).text
        return {int(n) for n in re.findall(r'<article class="desk-report" id="report-(\d+)"', text)}

    assert shown() == {a, b, c}
    assert shown(status="new") == {b}
    assert shown(status="dismissed") == {c}
    assert shown(topic=TOPICS[0]) == {a, c}
    assert shown(topic=TOPICS[0], status="in_progress") == {a}
    page = client.get("/editorial/").text
    assert "remark " + str(a) in page

    exported = client.get("/editorial/reports.csv", params={"topic": TOPICS[0]})
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["id"]) for r in rows] == [c, a]
    assert rows[1]["status"] == "in_progress" and rows[1]["remark"] == f"remark {a}"
    assert rows[1]["what"].startswith("'=HYPERLINK")  # never run as a formula


def test_bad_input_is_a_4xx_with_a_message(
    client: httpx.Client, engine: Engine, people: None
) -> None:
    report = add_report(engine)
    sign_in(client, EDITOR)
    token = csrf(client)
    odd = client.post(f"/editorial/reports/{report}", data={"csrf_token": token, "status": "done"})
    assert odd.status_code == 400 and "status: must be one of new, in_progress" in odd.text
    missing = client.post("/editorial/reports/999999", data={"csrf_token": token, "status": "new"})
    assert missing.status_code == 404 and "There is no report 999999." in missing.text
    other_kind = client.post(
        "/editorial/reports/reader@example.org", data={"csrf_token": token, "status": "new"}
    )
    assert other_kind.status_code == 422 and "report_id" in other_kind.text
    long = client.post(
        f"/editorial/reports/{report}",
        data={"csrf_token": token, "status": "new", "remark": "x" * 2001},
    )
    assert long.status_code == 400 and "remark: at most 2,000 characters" in long.text
    no_csrf = client.post(f"/editorial/reports/{report}", data={"status": "resolved"})
    assert no_csrf.status_code == 403 and "expired or came from another site" in no_csrf.text
    cross = client.post(
        f"/editorial/reports/{report}",
        data={"csrf_token": token, "status": "resolved"},
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    )
    assert cross.status_code == 403
    bad_filter = client.get(
        "/editorial/", params={"status": "<b>x</b>"}, headers={"accept": "text/html"}
    )
    assert bad_filter.status_code == 400 and "status: must be one of" in bad_filter.text
    assert "&lt;b&gt;x&lt;/b&gt;" in bad_filter.text and "<b>x</b>" not in bad_filter.text
    with Session(engine) as db:
        row = db.get(ProblemReport, report)
        assert row is not None and (row.status, row.remark) == ("new", "")


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-03-10", "2026-03-01", "start: 2026-03-10 is after end 2026-03-01"),
        ("2025-01-01", "2026-03-01", "at most 366"),
        ("yesterday", "", "dates are written YYYY-MM-DD"),
    ],
)
def test_bad_funnel_ranges_are_a_400(
    client: httpx.Client, people: None, start: str, end: str, message: str
) -> None:
    sign_in(client, EDITOR)
    for path in ("/editorial/funnel", "/editorial/funnel.csv"):
        response = client.get(path, params={"start": start, "end": end})
        assert response.status_code == 400 and message in response.text


def test_review_queue_is_what_site_api_review_lists(
    settings: Settings, engine: Engine, people: None, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from site_api.cli import main

    content = Path(__file__).resolve().parents[2] / "content"
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        sign_in(client, EDITOR)
        page = client.get("/editorial/").text
    review = CliRunner().invoke(main, ["review", "--content-dir", str(content)])
    listed = [
        line.split("  (")[1].split(";")[0] for line in review.output.splitlines() if "  (" in line
    ]
    section = page.split('id="review"', 1)[1].split('id="drafts"', 1)[0]
    # The desk shows each source as the build saw it (content/topics/x.md).
    shown = [f"<code>content/topics/{Path(p).name}</code>" in section for p in listed]
    assert shown == [True] * len(listed)
    if listed:
        assert section.count("<tr>") == len(listed) + 1  # the header row, then one per topic
    else:
        assert "No topic is overdue or due within 90 days." in section


def test_review_queue_lists_an_overdue_topic(
    settings: Settings, people: None, tmp_path: Path
) -> None:
    copy_project(tmp_path)
    source = tmp_path / "content" / "topics" / f"{TOPICS[0]}.md"
    text = source.read_text(encoding="utf-8")
    overdue = re.sub(r"(?m)^next_review: .*$", "next_review: 2020-01-01", text)
    overdue = re.sub(r"(?m)^reviewed: .*$", "reviewed: 2019-01-01", overdue)
    overdue = re.sub(r"(?m)^changes:\n(?:  .*\n)*", "", overdue)
    source.write_text(overdue, encoding="utf-8")
    built = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert built.returncode == 0, built.stderr
    with TestClient(
        create_app(settings.model_copy(update={"site_dir": tmp_path / "site"})),
        base_url="http://127.0.0.1:8000",
    ) as client:
        sign_in(client, EDITOR)
        section = client.get("/editorial/").text.split('id="review"', 1)[1]
    days = (date.today() - date(2020, 1, 1)).days
    assert f"{days} days overdue" in section and f"topics/{TOPICS[0]}.md" in section
    # Authors by name with the key in brackets, as `site-api review` names them.
    assert (
        "<td>Rheumatology section editor (rheumatology-editor), Haematology section editor "
        "(haematology-editor), General practice clinical reviewer (gp-reviewer)</td>" in section
    ), section


def test_unanswered_searches_over_7_and_30_days(
    client: httpx.Client, engine: Engine, people: None
) -> None:
    misses = MissCounter(engine)
    today = date.today()
    for address in ("192.0.2.1", "192.0.2.2", "2001:db8::3"):  # three readers
        misses.add("tocilizumab dose", address, today)
    misses.add("old query", "192.0.2.1", today - timedelta(days=20))
    misses.flush()
    sign_in(client, EDITOR)
    section = client.get("/editorial/").text.split('id="searches"', 1)[1].split('id="funnel"')[0]
    week, month = section.split("Last 30 days")
    assert "<td>tocilizumab dose</td><td>3</td>" in week and "old query" not in week
    assert "<td>old query</td><td>1</td>" in month


def test_export_has_reports_and_deletion_keeps_them_anonymous(
    client: httpx.Client, engine: Engine, people: None
) -> None:
    sign_in(client, READER)
    reader = users.find_user(engine, READER)
    assert reader is not None and reader.id is not None
    report = add_report(engine, what="Mine", email="reply@example.org", user_id=reader.id)
    data = json.loads(client.get("/account/export.json").text)
    (mine,) = data["problem_reports"]
    assert mine["what"] == "Mine" and mine["reply_to"] == "reply@example.org"
    assert mine["page_id"] == TOPICS[0] and "remark" not in mine and "status" not in mine
    deleted = client.post(
        "/account/delete", data={"csrf_token": csrf(client), "password": PASSWORD}
    )
    assert deleted.status_code == 200
    with Session(engine) as db:
        (row,) = db.exec(select(ProblemReport).where(ProblemReport.id == report)).all()
    assert (row.what, row.email, row.user_id) == ("Mine", "", None)


def test_funnel_page_shows_plots_tables_and_csv_of_the_counts(
    client: TestClient, engine: Engine, people: None
) -> None:
    from site_api.serving.funnel import FunnelCounter

    counter = FunnelCounter(engine)
    today = date.today()
    now = (today - date(1970, 1, 1)).days * 86400 + 3600
    for _ in range(4):
        counter.add(TOPICS[0], "gate", now)
    counter.add(TOPICS[0], "gate_account", now)
    counter.add(TOPICS[0], "gate_sign_in", now - 86400)
    counter.add(TOPICS[1], "view", now - 86400 * 400)  # outside the range asked for
    counter.flush()
    sign_in(client, EDITOR)
    start = (today - timedelta(days=6)).isoformat()
    response = client.get("/editorial/funnel", params={"start": start, "end": today.isoformat()})
    assert response.status_code == 200
    page = response.text
    assert page.count('<svg class="desk-plot"') == 2 and 'role="img"' in page
    assert "Conversion: <strong>50.0%</strong>" in page
    assert (
        f'<tr><th scope="row">{today.isoformat()}</th><td>0</td><td>4</td><td>1</td><td>0</td></tr>'
        in page
    )
    assert '<th scope="row">Gate pages shown</th><td>4</td>' in page
    assert "Anonymous topic views</th><td>0</td>" in page
    exported = client.get(
        "/editorial/funnel.csv", params={"start": start, "end": today.isoformat()}
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.splitlines()
    assert lines[0].startswith("day,view,first_view,last_free,gate,")
    assert len([line for line in lines if line[:4].isdigit()]) == 7
    assert any(line.startswith(f"{TOPICS[0]},0,0,0,4,0,0,1,1") for line in lines)
    assert not any(line.startswith(TOPICS[1]) for line in lines)
    desk = client.get("/editorial/").text.split('id="funnel"', 1)[1]
    assert '<th scope="row">Gate pages shown</th><td>4</td>' in desk


METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
#: Paths the router knows (with some method), then paths it does not.
KNOWN = [
    "/editorial",
    "/editorial/",
    "/editorial/reports.csv",
    "/editorial/funnel",
    "/editorial/funnel/",
    "/editorial/funnel.csv",
    "/editorial/reports/{report}",
]
UNKNOWN = "/editorial/no-such-page"


def ask(client: httpx.Client, method: str, path: str) -> httpx.Response:
    """A browser's request: HTML wanted, a form body with the CSRF token on writes."""
    data = {"csrf_token": csrf(client), "status": "resolved", "remark": "x"}
    return client.request(
        method,
        path,
        headers={"accept": "text/html"},
        data=data if method in ("POST", "PUT", "PATCH") else None,
        follow_redirects=False,
    )


def answer(response: httpx.Response) -> tuple[int, str | None, str, str, bytes]:
    return (
        response.status_code,
        response.headers.get("allow"),
        response.headers["cache-control"],
        response.headers.get("content-type", ""),
        response.content,
    )


@pytest.mark.parametrize("method", METHODS)
def test_every_method_on_every_desk_path_is_unknown_to_anonymous(
    client: httpx.Client, engine: Engine, people: None, method: str
) -> None:
    report = add_report(engine)
    for path in [*(p.format(report=report) for p in KNOWN), UNKNOWN]:
        response = ask(client, method, path)
        assert response.status_code == 303, (method, path)
        back = path if method in ("GET", "HEAD") else "/editorial/"
        assert response.headers["location"] == "/sign-in?next=" + back
        assert "allow" not in response.headers
        assert response.headers["cache-control"] == "private, no-store"
        unknown = ask(client, method, UNKNOWN)
        assert answer(response) == answer(unknown), (method, path)
    with Session(engine) as db:
        row = db.get(ProblemReport, report)
        assert row is not None and row.status == "new"


@pytest.mark.parametrize("method", METHODS)
def test_every_method_on_every_desk_path_is_the_ordinary_404_to_a_reader(
    client: httpx.Client, engine: Engine, people: None, method: str
) -> None:
    report = add_report(engine)
    sign_in(client, READER)
    unknown = ask(client, method, UNKNOWN)
    assert unknown.status_code == 404 and "allow" not in unknown.headers
    for path in (p.format(report=report) for p in KNOWN):
        response = ask(client, method, path)
        assert answer(response) == answer(unknown), (method, path)
        # No desk path named (the footer's "editorial policy" link is on every page).
        assert "/editorial" not in response.text
        assert "Dose is wrong" not in response.text
    with Session(engine) as db:
        row = db.get(ProblemReport, report)
        assert row is not None and row.status == "new"


def test_an_editor_still_meets_the_routers_answers(
    client: httpx.Client, engine: Engine, people: None
) -> None:
    report = add_report(engine)
    sign_in(client, EDITOR)
    wrong = ask(client, "GET", f"/editorial/reports/{report}")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "OPTIONS, POST"
    options = ask(client, "OPTIONS", "/editorial/")
    assert options.status_code == 204 and "GET" in options.headers["allow"]
    assert ask(client, "GET", UNKNOWN).status_code == 404
