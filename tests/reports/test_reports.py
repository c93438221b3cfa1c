"""Report a problem with a topic: the form, storage with the page id, mail to the editors, and
bad input (huge, control characters, HTML, cross-site, floods, unknown pages)."""

from __future__ import annotations

import re

import httpx
from sqlmodel import Session, select
from visitors import TOPICS, countdown_of

from site_api.config import Settings
from site_api.db import make_engine
from site_api.models import ProblemReport
from site_api.reports.store import PER_ADDRESS
from site_api.web.app import create_app

PAGE_ID = TOPICS[0]


def form_token(client: httpx.Client, page_id: str = PAGE_ID) -> str:
    response = client.get(f"/report?page={page_id}")
    assert response.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert found
    return found.group(1)


def stored(settings: Settings) -> list[ProblemReport]:
    with Session(make_engine(settings.database_url)) as db:
        return list(db.exec(select(ProblemReport)).all())


def post(client: httpx.Client, token: str, **fields: str) -> httpx.Response:
    data = {"csrf_token": token, "page": PAGE_ID, "what": "Dose in table 2 is wrong", **fields}
    return client.post("/report", data=data)


def test_a_report_is_stored_with_its_page_and_mailed_to_the_editors(
    built_site: object, settings: Settings
) -> None:
    from fastapi.testclient import TestClient

    editors = settings.model_copy(update={"editorial_email": "editors@example.org"})
    with TestClient(create_app(editors), base_url="http://127.0.0.1:8000") as client:
        token = form_token(client)
        what = "<script>alert(1)</script> the ferritin cut-off\nshould be checked"
        response = post(client, token, what=what, reference="doi:10.1000/x", email="a@b.org")
        assert response.status_code == 200 and "Thank you for your report" in response.text
        assert "<script>alert(1)</script>" not in response.text
        assert countdown_of(response.text) == "You can read 5 more topics before signing in."
    (row,) = stored(settings)
    assert row.page_id == PAGE_ID and row.what == what and row.user_id is None
    assert row.reference == "doi:10.1000/x" and row.email == "a@b.org"
    mails = list((settings.var_dir / "outbox").glob("*.eml"))
    assert len(mails) == 1
    message = mails[0].read_text()
    assert "To: editors@example.org" in message and "ferritin cut-off" in message


def test_without_an_editorial_address_reports_are_only_stored(
    client: httpx.Client, settings: Settings
) -> None:
    assert post(client, form_token(client)).status_code == 200
    assert len(stored(settings)) == 1
    assert not list((settings.var_dir / "outbox").glob("*.eml"))


def test_bad_reports_get_a_4xx_with_a_message_and_nothing_stored(
    client: httpx.Client, settings: Settings
) -> None:
    token = form_token(client)
    form = {"content-type": "application/x-www-form-urlencoded"}
    # Over the form's own limit, under the app's body limit: the report's own message.
    long = client.post("/report", content=b"what=" + b"x" * (200 * 1024), headers=form)
    assert long.status_code == 413 and "too long" in long.text
    # Over the app's body limit (issue 15): refused before the route, also with a message.
    huge = client.post("/report", content=b"what=" + b"x" * (10 * 1024 * 1024), headers=form)
    assert huge.status_code == 413 and "too large" in huge.text
    assert post(client, token, what="bad \x00\x07 bytes").status_code == 400
    assert post(client, token, what="   ").status_code == 400
    assert post(client, token, what="x" * 2001).status_code == 400
    assert post(client, token, reference="r" * 501).status_code == 400
    assert post(client, token, email="not an address").status_code == 400
    assert post(client, token, page="no-such-topic").status_code == 404
    assert post(client, "forged-token").status_code == 403
    cross = client.post(
        "/report",
        data={"csrf_token": token, "page": PAGE_ID, "what": "x"},
        headers={"sec-fetch-site": "cross-site"},
    )
    assert cross.status_code == 403
    assert client.get("/report?page=no-such-topic").status_code == 404
    assert stored(settings) == []


def test_a_flood_from_one_address_is_limited(client: httpx.Client, settings: Settings) -> None:
    token = form_token(client)
    answers = [post(client, token, what=f"report {i}").status_code for i in range(50)]
    assert answers[: PER_ADDRESS.attempts] == [200] * PER_ADDRESS.attempts
    assert set(answers[PER_ADDRESS.attempts :]) == {429}
    assert len(stored(settings)) == PER_ADDRESS.attempts
