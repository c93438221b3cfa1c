"""Share links at the gate: the signed token (bound to page, creator and expiry), the browser's
record of links it has used, and the one database read that sees a revocation.

A token is `<share id>.<creator id>.<expires>.<mac>`, the MAC a keyed BLAKE2b over those and the
page id, so a token checks out only on its own page and a forged one costs no database read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from datetime import UTC, datetime

from anyio import to_thread
from sqlalchemy import Engine
from sqlmodel import Session

from site_api.models import Share

log = logging.getLogger("site_api.shares")

PARAM = "share"  # the query parameter that carries a token
USED_COOKIE = "shared"  # the share links this browser has already opened
MAX_USED = 20  # ids the cookie remembers (a reader makes at most 20 links a day)
_TOKEN = re.compile(
    r"^([1-9][0-9]{0,11})\.([1-9][0-9]{0,11})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{22})$"
)
_USED = re.compile(r"^((?:[1-9][0-9]{0,11})(?:-[1-9][0-9]{0,11}){0,19})\.([A-Za-z0-9_-]{22})$")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class ShareTokens:
    """Signs and checks share tokens and the used-links cookie with a key of their own."""

    def __init__(self, key: bytes) -> None:
        self._key = hmac.new(key, b"share-v1", hashlib.sha256).digest()

    def _mac(self, message: str) -> str:
        return _b64(hashlib.blake2b(message.encode(), key=self._key, digest_size=16).digest())

    def token(self, share_id: int, user_id: int, page_id: str, expires: int) -> str:
        """The token of a share link for `page_id`, made by `user_id`, valid until `expires`."""
        mac = self._mac(f"link|{share_id}|{user_id}|{expires}|{page_id}")
        return f"{share_id}.{user_id}.{expires}.{mac}"

    def check(self, token: str, page_id: str, now: int) -> tuple[int, int] | None:
        """(share id, creator id) if `token` is a live token for `page_id`, else None."""
        match = _TOKEN.match(token)
        if match is None:
            return None
        share_id, user_id, expires = (int(g) for g in match.groups()[:3])
        expected = self._mac(f"link|{share_id}|{user_id}|{expires}|{page_id}")
        if not hmac.compare_digest(expected, match.group(4)) or expires <= now:
            return None
        return share_id, user_id

    def used(self, value: str | None) -> tuple[int, ...]:
        """The share ids a browser's cookie says it has opened (nothing if it does not verify)."""
        match = _USED.match(value or "")
        if match is None or not hmac.compare_digest(self._mac(f"used|{match[1]}"), match[2]):
            return ()
        return tuple(int(i) for i in match[1].split("-"))

    def used_cookie(self, ids: tuple[int, ...]) -> str:
        """The cookie value recording `ids` (the newest MAX_USED)."""
        payload = "-".join(str(i) for i in ids[-MAX_USED:])
        return f"{payload}.{self._mac(f'used|{payload}')}"


def is_live(engine: Engine, share_id: int, user_id: int, page_id: str, now: datetime) -> bool:
    """Whether the share row exists for this creator and page, unrevoked and unexpired. Blocking."""
    with Session(engine) as db:
        row = db.get(Share, share_id)
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    return (
        row is not None
        and row.user_id == user_id
        and row.page_id == page_id
        and row.revoked_at is None
        and row.expires_at > naive_now
    )


class ShareCheck:
    """The gate's question: does this token open this page for this browser now?"""

    def __init__(self, tokens: ShareTokens, engine: Engine) -> None:
        self.tokens = tokens
        self.engine = engine

    async def opens(self, token: str, page_id: str, used: tuple[int, ...], now: int) -> int | None:
        """The share id when the token is live for `page_id` and unused in this browser."""
        checked = self.tokens.check(token, page_id, now)
        if checked is None:
            log.info("share link refused: page %s (bad, expired or other page)", page_id)
            return None
        share_id, user_id = checked
        if share_id in used:
            return None  # once per browser: afterwards an ordinary visit
        when = datetime.fromtimestamp(now, UTC)
        if not await to_thread.run_sync(is_live, self.engine, share_id, user_id, page_id, when):
            log.info("share link refused: page %s (revoked)", page_id)
            return None
        log.info("share link opened: page %s", page_id)
        return share_id
