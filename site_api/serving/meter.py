"""The anonymous meter: its state in a signed (keyed BLAKE2b) cookie, and the pure `decide()`."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

COOKIE = "meter"
_VERSION = b"meter-v1"
_HASH_LEN = 8  # base64url characters per counted page: 48 bits, no collisions among a site's pages


@dataclass(frozen=True)
class Rules:
    """How many distinct metered pages an anonymous visitor may read per rolling window."""

    free_pages: int = 5
    window_seconds: int = 30 * 86400


@dataclass(frozen=True)
class MeterState:
    """When the visitor's window started (Unix seconds) and which pages it has counted."""

    window_start: int
    pages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Visitor:
    """Who is asking, as resolved before `decide()`: each field is a door beside the meter,
    set only once the server has verified it (session, address range, DNS, signed token)."""

    signed_in: bool = False
    institution: str | None = None  # the institution whose address range holds the client
    crawler: str | None = None  # a search engine's crawler verified by reverse and forward DNS
    shared_page: str | None = None  # the page token a valid share link opens


ANONYMOUS = Visitor()
#: Which door let an unmetered visitor in; `Decision.door`.
Door = Literal["reader", "institution", "crawler", "share"]


@dataclass(frozen=True)
class Decision:
    """What to do with one page view."""

    allow: bool
    state: MeterState | None  # the state to store, or None when the visitor is not metered
    remaining: int | None  # pages left after this view; None when not metered
    changed: bool  # whether the cookie must be (re)written
    door: Door | None = None  # the door an unmetered visitor came through


def page_token(page_id: str) -> str:
    """A short, stable token for a page id, as stored in the cookie."""
    digest = hashlib.blake2b(page_id.encode(), digest_size=6).digest()
    return base64.urlsafe_b64encode(digest).decode()


def is_prefetch(purpose: str | None) -> bool:
    """Whether a `Sec-Purpose` or `Purpose` header marks a speculative fetch, not a reader."""
    return purpose is not None and "prefetch" in purpose.lower()


def decide(
    access: Literal["metered", "free"],
    page: str,
    visitor: Visitor | bool,
    state: MeterState | None,
    now: int,
    rules: Rules,
    count: bool = True,
    prefetch: bool = False,
) -> Decision:
    """Whether a visitor may see a page, and the meter state afterwards. Pure: no I/O.

    `visitor` may be a bare bool (signed in or not) for callers that know no other door.
    `count=False` (HEAD) serves without counting. A `prefetch` never counts either, and a page it
    would have counted is refused (the browser drops a refused prefetch and asks again when the
    reader really opens the page, which then counts): a prefetch must not read a body free.
    """
    if isinstance(visitor, bool):
        visitor = Visitor(signed_in=visitor)
    if visitor.signed_in:
        return Decision(True, None, None, False, "reader")
    if visitor.crawler is not None:
        # A verified crawler reads everything and is sent no cookie: it has no meter at all.
        return Decision(True, None, None, False, "crawler")
    if visitor.institution is not None:
        return Decision(True, None, None, False, "institution")
    if visitor.shared_page is not None and visitor.shared_page == page:
        # The shared page only, and without spending or touching the visitor's free pages.
        return Decision(True, None, None, False, "share")
    if state is None or not 0 <= now - state.window_start < rules.window_seconds:
        # The window rolls from the first counted view, so a fresh one starts now.
        state = MeterState(window_start=now)
    left = rules.free_pages - len(state.pages)
    if access == "free" or page in state.pages:
        return Decision(True, state, max(left, 0), False)
    if left <= 0:
        return Decision(False, state, 0, False)
    if prefetch:
        return Decision(False, state, left, False)
    if not count:
        return Decision(True, state, left, False)
    counted = MeterState(state.window_start, (*state.pages, page))
    return Decision(True, counted, left - 1, True)


def readable_without_spending(
    access: Literal["metered", "free"],
    page: str,
    signed_in: bool,
    state: MeterState | None,
    now: int,
    rules: Rules,
) -> bool:
    """Whether the visitor may read a page's body now without spending a free page. Pure.

    Signed in, a free page, or a page already counted in a window that is still open: anything
    else would need a view to be counted, which only a page view may do (never search).
    """
    if signed_in or access == "free":
        return True
    if state is None or not 0 <= now - state.window_start < rules.window_seconds:
        return False
    return page in state.pages


class MeterCookie:
    """Encodes and verifies meter state; anything that does not verify reads as no state."""

    def __init__(self, key: bytes) -> None:
        self._key = hmac.new(key, _VERSION, hashlib.sha256).digest()

    def _sign(self, payload: str) -> str:
        # Keyed BLAKE2b is a MAC in its own right (RFC 7693), and cheaper than HMAC per view.
        mac = hashlib.blake2b(payload.encode(), key=self._key, digest_size=16).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def dumps(self, state: MeterState) -> str:
        """`<start>.<page tokens>.<signature>`: small, cookie-safe, tamper-evident."""
        payload = f"{state.window_start}.{''.join(state.pages)}"
        return f"{payload}.{self._sign(payload)}"

    def loads(self, value: str | None, rules: Rules) -> MeterState | None:
        """The state in a cookie value, or None if it is missing, forged or malformed."""
        if not value or len(value) > 64 + _HASH_LEN * rules.free_pages:
            return None
        payload, _, signature = value.rpartition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            return None
        start, _, tokens = payload.partition(".")
        if not start.isdigit() or len(tokens) % _HASH_LEN:
            return None
        pages = tuple(tokens[i : i + _HASH_LEN] for i in range(0, len(tokens), _HASH_LEN))
        if len(set(pages)) != len(pages) or len(pages) > rules.free_pages:
            return None
        return MeterState(int(start), pages)
