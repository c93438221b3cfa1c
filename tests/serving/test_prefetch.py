"""Prefetches never spend the meter: `Sec-Purpose: prefetch` / `Purpose: prefetch`, both doors.

A prefetch of a page the visitor may read without counting (free, already counted, signed in)
gets the page; one that would count is refused (403, no cookie), so a prefetch never reads a
body free either. The reader's real navigation then counts as usual.
"""

from __future__ import annotations

import time

import httpx
import pytest
from reading import COUNTDOWN
from visitors import TOPICS, countdown_of, signed_in_cookie

from site_api.config import Settings
from site_api.serving.meter import MeterState, Rules, decide, is_prefetch

PAGE = f"/topics/{TOPICS[0]}/"
PREFETCHES = [
    {"sec-purpose": "prefetch"},
    {"sec-purpose": "prefetch;prerender"},
    {"purpose": "prefetch"},
]


@pytest.mark.parametrize("header", ["prefetch", "prefetch;anonymous-client-ip", "Prefetch"])
def test_prefetch_headers_are_recognised(header: str) -> None:
    assert is_prefetch(header)
    assert not is_prefetch(None) and not is_prefetch("")


def test_decision_never_counts_a_prefetch() -> None:
    rules = Rules(free_pages=2)
    now = int(time.time())
    fresh = decide("metered", "aaaaaaaa", False, None, now, rules, prefetch=True)
    assert not fresh.allow and not fresh.changed and fresh.state is not None
    assert fresh.state.pages == ()
    counted = MeterState(now, ("aaaaaaaa",))
    again = decide("metered", "aaaaaaaa", False, counted, now, rules, prefetch=True)
    assert again.allow and not again.changed
    assert decide("free", "b", False, None, now, rules, prefetch=True).allow
    assert decide("metered", "b", True, None, now, rules, prefetch=True).allow


@pytest.mark.parametrize("headers", PREFETCHES)
def test_embedded_door_answers_a_prefetch_without_counting(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    prefetched = client.get(PAGE, headers=headers)
    assert prefetched.status_code == 403 and "set-cookie" not in prefetched.headers
    assert "topic-body" not in prefetched.text
    assert prefetched.headers["cache-control"] == "private, no-store"
    home = client.get("/", headers=headers)  # a free page: served, still nothing spent
    assert home.status_code == 200 and countdown_of(home.text) == COUNTDOWN[5]
    read = client.get(PAGE)  # the reader opens it: now it counts
    assert read.status_code == 200 and countdown_of(read.text) == COUNTDOWN[4]
    again = client.get(PAGE, headers=headers)  # counted already: a prefetch may have it
    assert again.status_code == 200 and "set-cookie" not in again.headers


@pytest.mark.parametrize("headers", PREFETCHES)
def test_nginx_door_answers_a_prefetch_without_counting(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    answer = client.get("/api/gate", headers={"x-original-uri": PAGE, **headers})
    assert answer.status_code == 403 and "x-meter-set-cookie" not in answer.headers


def test_signed_in_prefetch_is_served(client: httpx.Client, settings: Settings) -> None:
    cookie = signed_in_cookie(settings)
    response = client.get(PAGE, headers={"cookie": cookie, "sec-purpose": "prefetch"})
    assert response.status_code == 200 and "topic-body" in response.text
