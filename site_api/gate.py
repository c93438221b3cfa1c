"""The page view: resolve the page, identify the visitor, `decide()`, respond. The hot path."""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import quote

from anyio import to_thread
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.types import Receive, Scope, Send

from site_api import meter, sessions
from site_api.meter import MeterCookie, Rules, decide
from site_api.pages import BuiltPage, SiteIndex
from site_api.sessions import Reader
from site_api.static import SECURITY_HEADERS, SiteAssets, is_asset_path
from site_api.views import Views

HTML = b"text/html; charset=utf-8"
_BASE_HEADERS = [(b"content-type", HTML), (b"vary", b"Cookie")] + [
    (k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
]
PAGE_CACHE = b"private, no-cache"
UNVERIFIED_REMINDER = (
    b'<p class="meter-countdown" role="status">Please confirm your email address: follow the '
    b'link we sent you, or <a href="/account">send it again</a>.</p>'
)
GATE_CACHE = b"private, no-store"


@lru_cache(maxsize=4096)
def countdown(remaining: int, counted_now: bool, next_url: str) -> bytes:
    """The anonymous visitor's countdown, correct for the page being served."""
    if remaining == 0 and counted_now:
        text = "This is the last page you can view before signing in."
    elif remaining == 0:
        text = "You have viewed all your free pages."
    elif remaining == 1:
        text = "You can view 1 more page before signing in."
    else:
        text = f"You can view {remaining} more pages before signing in."
    link = quote(next_url, safe="/")
    return (
        f'<p class="meter-countdown" role="status">{text} '
        f'<a href="/sign-in?next={link}">Sign in</a> or '
        f'<a href="/create-account?next={link}">create a free account</a>.</p>'
    ).encode()


class PageServer:
    """ASGI app for every path that is not the API: pages through the gate, then assets, then 404."""

    def __init__(
        self,
        site: SiteIndex,
        assets: SiteAssets,
        store: sessions.SessionStore,
        cookie: MeterCookie,
        rules: Rules,
        secure_cookies: bool,
        views: Views,
        unverified_unlimited: bool = True,
    ) -> None:
        self.site = site
        self.assets = assets
        self.store = store
        self.cookie = cookie
        self.rules = rules
        self.secure = "; Secure" if secure_cookies else ""
        self.views = views
        self.unverified_unlimited = unverified_unlimited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _send(send, 405, [(b"allow", b"GET, HEAD")], b"Method not allowed", method)
            return
        path: str = scope["path"]
        found = self.site.lookup(path)
        if found.page is None:
            if is_asset_path(path):
                try:
                    response = await self.assets.get_response(path.lstrip("/"), scope)
                except HTTPException:
                    pass  # not a file: the site's own 404 page
                else:
                    await response(scope, receive, send)
                    return
            await self._not_found(scope, send)
            return
        if found.redirect is not None:
            await _send(send, 301, [(b"location", found.redirect.encode())], b"", method)
            return
        await self._page(found.page, scope, send)

    async def _visitor(self, scope: Scope) -> tuple[Reader | None, meter.MeterState | None]:
        """The signed-in reader (a live server-side session), and the anonymous meter state."""
        raw = _header(scope, b"cookie")
        cookies = cookie_parser(raw) if raw else {}
        token = cookies.get(sessions.COOKIE)
        reader = None
        if token:
            reader = self.store.cached(token) or await to_thread.run_sync(self.store.lookup, token)
        return reader, self.cookie.loads(cookies.get(meter.COOKIE), self.rules)

    async def _page(self, page: BuiltPage, scope: Scope, send: Send) -> None:
        reader, state = await self._visitor(scope)
        now = int(time.time())
        method = scope["method"]
        unmetered = reader is not None and (reader.verified or self.unverified_unlimited)
        decision = decide(
            page.meta.access,
            page.token,
            unmetered,
            state,
            now,
            self.rules,
            count=method == "GET",  # HEAD sends no body, so it never spends a free page
        )
        headers: list[tuple[bytes, bytes]] = []
        if decision.changed and decision.state is not None:
            headers.append((b"set-cookie", self._set_cookie(decision.state, now)))
        if not decision.allow:
            body = self._gate(page)
            await _send(send, 403, [(b"cache-control", GATE_CACHE), *headers], body, method)
            return
        if decision.remaining is not None:
            slot = countdown(decision.remaining, decision.changed, page.meta.url)
        else:
            slot = b"" if reader is None or reader.verified else UNVERIFIED_REMINDER
        body = page.head + slot + page.tail
        await _send(send, 200, [(b"cache-control", PAGE_CACHE), *headers], body, method)

    def _set_cookie(self, state: meter.MeterState, now: int) -> bytes:
        max_age = max(state.window_start + self.rules.window_seconds - now, 0)
        value = self.cookie.dumps(state)
        return (
            f"{meter.COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{self.secure}"
        ).encode()

    def _gate(self, page: BuiltPage) -> bytes:
        """The gate page for `page`: its title and summary, never its body."""
        return self.views.render(
            page.meta.title,
            "gate.html",
            page=page.meta,
            next=page.meta.url,
            free_pages=self.rules.free_pages,
            days=self.rules.window_seconds // 86400,
        )

    def countdown_for(self, cookies: Mapping[str, str], next_url: str = "/") -> bytes:
        """The countdown a free page shows this visitor (nothing when signed in). Blocking."""
        token = cookies.get(sessions.COOKIE)
        reader = self.store.lookup(token) if token else None
        if reader is not None and (reader.verified or self.unverified_unlimited):
            return b"" if reader.verified else UNVERIFIED_REMINDER
        state = self.cookie.loads(cookies.get(meter.COOKIE), self.rules)
        decision = decide("free", "", False, state, int(time.time()), self.rules)
        return countdown(decision.remaining or 0, False, next_url)

    async def _not_found(self, scope: Scope, send: Send) -> None:
        raw = _header(scope, b"cookie")
        cookies = cookie_parser(raw) if raw else {}
        slot = await to_thread.run_sync(self.countdown_for, cookies)
        head, tail = self.site.not_found
        await _send(
            send, 404, [(b"cache-control", PAGE_CACHE)], head + slot + tail, scope["method"]
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, method: str
) -> None:
    """One complete response; HEAD gets the headers (with the real length) and no body."""
    all_headers = [*_BASE_HEADERS, (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
