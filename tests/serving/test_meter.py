"""`decide()` table-tested, and the meter cookie against tampering."""

from __future__ import annotations

import pytest

from site_api.serving.meter import (
    MeterCookie,
    MeterState,
    Rules,
    decide,
    page_token,
    readable_without_spending,
)

RULES = Rules(free_pages=5, window_seconds=30 * 86400)
NOW = 1_800_000_000
DAY = 86400
A, B, C, D, E, F = (page_token(p) for p in "abcdef")
FULL = MeterState(NOW - DAY, (A, B, C, D, E))


@pytest.mark.parametrize(
    (
        "case",
        "access",
        "page",
        "signed_in",
        "state",
        "now",
        "allow",
        "remaining",
        "changed",
        "pages",
    ),
    [
        ("fresh visitor, first topic", "metered", A, False, None, NOW, True, 4, True, (A,)),
        (
            "second topic",
            "metered",
            B,
            False,
            MeterState(NOW - DAY, (A,)),
            NOW,
            True,
            3,
            True,
            (A, B),
        ),
        (
            "re-reading a counted page is free",
            "metered",
            A,
            False,
            MeterState(NOW - DAY, (A, B)),
            NOW,
            True,
            3,
            False,
            (A, B),
        ),
        (
            "fifth topic is the last",
            "metered",
            E,
            False,
            MeterState(NOW - DAY, (A, B, C, D)),
            NOW,
            True,
            0,
            True,
            (A, B, C, D, E),
        ),
        ("sixth topic is gated", "metered", F, False, FULL, NOW, False, 0, False, (A, B, C, D, E)),
        (
            "counted page still opens at the limit",
            "metered",
            C,
            False,
            FULL,
            NOW,
            True,
            0,
            False,
            (A, B, C, D, E),
        ),
        (
            "free page never counts",
            "free",
            F,
            False,
            MeterState(NOW - DAY, (A,)),
            NOW,
            True,
            4,
            False,
            (A,),
        ),
        (
            "free page opens past the limit",
            "free",
            F,
            False,
            FULL,
            NOW,
            True,
            0,
            False,
            (A, B, C, D, E),
        ),
        ("free page for a fresh visitor", "free", F, False, None, NOW, True, 5, False, ()),
        (
            "window expired: a new window",
            "metered",
            F,
            False,
            MeterState(NOW - 30 * DAY, (A, B, C, D, E)),
            NOW,
            True,
            4,
            True,
            (F,),
        ),
        (
            "window just inside",
            "metered",
            F,
            False,
            MeterState(NOW - 30 * DAY + 1, (A, B, C, D, E)),
            NOW,
            False,
            0,
            False,
            (A, B, C, D, E),
        ),
        (
            "window from the future reads as fresh",
            "metered",
            F,
            False,
            MeterState(NOW + DAY, (A, B, C, D, E)),
            NOW,
            True,
            4,
            True,
            (F,),
        ),
    ],
)
def test_decide(
    case: str,
    access: str,
    page: str,
    signed_in: bool,
    state: MeterState | None,
    now: int,
    allow: bool,
    remaining: int,
    changed: bool,
    pages: tuple[str, ...],
) -> None:
    decision = decide(access, page, signed_in, state, now, RULES)  # type: ignore[arg-type]
    assert decision.allow is allow, case
    assert decision.remaining == remaining, case
    assert decision.changed is changed, case
    assert decision.state is not None and decision.state.pages == pages, case


def test_new_window_starts_at_the_counted_view() -> None:
    decision = decide("metered", A, False, None, NOW, RULES)
    assert decision.state == MeterState(NOW, (A,))


def test_signed_in_is_never_metered() -> None:
    decision = decide("metered", F, True, FULL, NOW, RULES)
    assert (decision.allow, decision.state, decision.remaining, decision.changed) == (
        True,
        None,
        None,
        False,
    )


def test_head_style_view_does_not_count() -> None:
    decision = decide("metered", A, False, None, NOW, RULES, count=False)
    assert decision.allow and not decision.changed and decision.remaining == 5


def test_zero_free_pages_gates_every_topic() -> None:
    assert not decide("metered", A, False, None, NOW, Rules(0, DAY)).allow


KEY = b"k" * 32
COOKIE = MeterCookie(KEY)


def test_cookie_round_trip() -> None:
    state = MeterState(NOW, (A, B))
    assert COOKIE.loads(COOKIE.dumps(state), RULES) == state


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: v.replace(A, ""),  # drop a counted page
        lambda v: str(NOW + 10 * DAY) + v[v.index(".") :],  # move the window
        lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),  # edit the signature
        lambda v: v.rpartition(".")[0],  # strip the signature
        lambda v: MeterCookie(b"x" * 32).dumps(MeterState(NOW, ())),  # signed with another key
        lambda v: "garbage",
        lambda v: "",
        lambda v: "." * 5,
        lambda v: "\x00\xff" * 10,
        lambda v: v * 50,  # oversized
    ],
)
def test_tampered_cookies_read_as_a_fresh_visitor(tamper: object) -> None:
    value = COOKIE.dumps(MeterState(NOW, (A, B, C, D, E)))
    assert COOKIE.loads(tamper(value), RULES) is None  # type: ignore[operator]


def test_forged_cookie_cannot_claim_more_pages_than_allowed() -> None:
    many = COOKIE.dumps(MeterState(NOW, tuple(page_token(str(i)) for i in range(6))))
    assert COOKIE.loads(many, RULES) is None


@pytest.mark.parametrize(
    ("access", "page", "signed_in", "state", "now", "readable"),
    [
        ("metered", A, True, None, NOW, True),  # signed in
        ("free", A, False, None, NOW, True),  # a free page
        ("metered", A, False, None, NOW, False),  # fresh visitor: reading would spend
        ("metered", A, False, MeterState(NOW - 10, (A,)), NOW, True),  # already counted
        ("metered", B, False, MeterState(NOW - 10, (A,)), NOW, False),  # not counted yet
        ("metered", A, False, MeterState(NOW - RULES.window_seconds, (A,)), NOW, False),  # expired
        ("metered", A, False, MeterState(NOW + 10, (A,)), NOW, False),  # from the future
    ],
)
def test_readable_without_spending(
    access: str, page: str, signed_in: bool, state: MeterState | None, now: int, readable: bool
) -> None:
    result = readable_without_spending(access, page, signed_in, state, now, RULES)  # type: ignore[arg-type]
    assert result is readable
