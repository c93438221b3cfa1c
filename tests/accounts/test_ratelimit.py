"""Rate limits that hold under parallel attempts, with keys no input can overflow (both databases)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from visitors import PASSWORD, csrf

from site_api.accounts import ratelimit, users
from site_api.models import RateCounter
from site_api.web.routes.account import REAUTH_FAILURES
from site_api.web.routes.auth import ACCOUNT_FAILURES, ADDRESS_ATTEMPTS
from site_api.web.routes.email_flows import MAILS_PER_ACCOUNT

EMAIL = "reader@example.org"
WRONG = "not the password at all"
LIMITS = {
    "account failures": ACCOUNT_FAILURES,
    "address attempts": ADDRESS_ATTEMPTS,
    "reauth failures": REAUTH_FAILURES,
    "mails per account": MAILS_PER_ACCOUNT,
}


def parallel(count: int, call: Any) -> Counter[Any]:
    """Run `call(i)` `count` times at once; the tally of what it returned."""
    with ThreadPoolExecutor(max_workers=min(count, 32)) as pool:
        return Counter(pool.map(call, range(count)))


@pytest.mark.parametrize("name", LIMITS)
def test_parallel_hits_pass_exactly_the_limit(engine: Engine, name: str) -> None:
    limit = LIMITS[name]

    def attempt(_: int) -> str:
        try:
            ratelimit.hit(engine, f"test:{name}", limit)
        except ratelimit.RateLimited:
            return "refused"
        return "counted"

    tally = parallel(limit.attempts + 20, attempt)
    assert tally == {"counted": limit.attempts, "refused": 20}


def test_a_window_that_ran_out_starts_again(engine: Engine) -> None:
    limit = ratelimit.Limit(2, ACCOUNT_FAILURES.window)
    for _ in range(2):
        ratelimit.hit(engine, "test:window", limit)
    with pytest.raises(ratelimit.RateLimited) as refused:
        ratelimit.hit(engine, "test:window", limit)
    assert 1 <= refused.value.retry_after <= limit.window.total_seconds() + 1
    with Session(engine) as db:
        row = db.exec(select(RateCounter)).one()
        row.window_start -= limit.window
        db.add(row)
        db.commit()
    ratelimit.hit(engine, "test:window", limit)  # a new window: counted, not refused


@pytest.fixture
def reader(engine: Engine) -> str:
    users.create_user(engine, EMAIL, PASSWORD, verified=True)
    return EMAIL


def test_parallel_guesses_cannot_beat_the_sign_in_limit(client: httpx.Client, reader: str) -> None:
    token = csrf(client)

    def guess(_: int) -> int:
        data = {"email": reader, "password": WRONG, "csrf_token": token}
        return client.post("/sign-in", data=data, follow_redirects=False).status_code

    tally = parallel(30, guess)
    assert tally == {400: ACCOUNT_FAILURES.attempts, 429: 30 - ACCOUNT_FAILURES.attempts}
    right = {"email": reader, "password": PASSWORD, "csrf_token": token}
    assert client.post("/sign-in", data=right, follow_redirects=False).status_code == 429


def test_a_success_does_not_use_up_the_limit(client: httpx.Client, reader: str) -> None:
    token = csrf(client)
    right = {"email": reader, "password": PASSWORD, "csrf_token": token}
    for _ in range(ACCOUNT_FAILURES.attempts + 2):
        client.cookies.delete("session")
        assert client.post("/sign-in", data=right, follow_redirects=False).status_code == 303


def test_parallel_guesses_cannot_beat_the_account_page_limit(
    client: httpx.Client, reader: str, engine: Engine
) -> None:
    token = csrf(client)
    data = {"email": reader, "password": PASSWORD, "csrf_token": token}
    assert client.post("/sign-in", data=data, follow_redirects=False).status_code == 303

    def guess(_: int) -> int:
        data = {"password": WRONG, "csrf_token": token}
        return client.post("/account/delete", data=data, follow_redirects=False).status_code

    tally = parallel(30, guess)
    assert tally == {400: REAUTH_FAILURES.attempts, 429: 30 - REAUTH_FAILURES.attempts}
    data = {"password": PASSWORD, "csrf_token": token}
    assert client.post("/account/delete", data=data).status_code == 429
    assert users.find_user(engine, reader) is not None


def test_parallel_requests_cannot_beat_the_address_limit(client: httpx.Client) -> None:
    def open_link(_: int) -> int:
        return client.get("/reset-password?token=made-up").status_code

    extra = 20
    tally = parallel(ADDRESS_ATTEMPTS.attempts + extra, open_link)
    assert tally == {400: ADDRESS_ATTEMPTS.attempts, 429: extra}


def long_address(length: int) -> str:
    """A syntactically valid address of exactly `length` characters (254 is the most allowed)."""
    local = "a" * 64
    labels, left = [], length - len(local) - 1 - len(".org")
    while left > 0:
        label = min(63, left - 1 if left > 63 else left)
        labels.append("b" * label)
        left -= label + 1
    address = f"{local}@{'.'.join(labels)}.org"
    assert len(address) == length, len(address)
    return address


@pytest.mark.parametrize(
    "email",
    [
        long_address(254),
        "c" * 320 + "@example.org",
        "d" * 10_000,
        "a\x00@b.c",
        "\x00",
    ],
    ids=["254", "320", "10000", "nul", "only-nul"],
)
@pytest.mark.parametrize("path", ["/sign-in", "/create-account", "/forgot-password"])
def test_any_address_is_an_answer_not_a_500(client: httpx.Client, path: str, email: str) -> None:
    data = {"email": email, "password": "long enough and odd 77", "csrf_token": csrf(client)}
    for _ in range(2):  # the second finds the counter the first one made
        response = client.post(path, data=data, follow_redirects=False)
        assert response.status_code in {200, 303, 400}, response.text[:300]
