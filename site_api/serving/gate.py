"""The page view: resolve the page, identify the visitor, `decide()`, respond. The hot path."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any, Protocol
from urllib.parse import unquote

from anyio import to_thread
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.types import Receive, Scope, Send

from site_api.accounts import sessions
from site_api.accounts.sessions import Reader
from site_api.config import peer_of
from site_api.serving import meter
from site_api.serving.address import forwarded_for
from site_api.serving.doors import Doors
from site_api.serving.funnel import FunnelCounter
from site_api.serving.institutions import InstitutionIndex
from site_api.serving.links import sign_in_link
from site_api.serving.meter import MeterCookie, Rules, Visitor, decide, is_prefetch
from site_api.serving.pages import BuiltPage, Lookup, SiteIndex
from site_api.serving.publishing import LiveSite
from site_api.serving.shares import PARAM as SHARE_PARAM
from site_api.serving.shares import USED_COOKIE, ShareCheck
from site_api.serving.static import SECURITY_HEADERS, is_asset_path

HTML = b"text/html; charset=utf-8"
_BASE_HEADERS = [(b"content-type", HTML), (b"vary", b"Cookie")] + [
    (k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
]
#: A page opened through a share link: its links must not carry the token to other sites.
_SHARED_HEADERS = [(k, b"no-referrer" if k == b"referrer-policy" else v) for k, v in _BASE_HEADERS]
PAGE_CACHE = b"private, no-cache"
UNVERIFIED_REMINDER = (
    b'<p class="meter-countdown" role="status">Please confirm your email address: follow the '
    b'link we sent you, or <a href="/account">send it again</a>.</p>'
)
GATE_CACHE = b"private, no-store"
#: What nginx's try_files gets for a path that is no page: a dot-file, never published.
NO_PAGE_FILE = "/.no-page"


class Views(Protocol):
    """What renders the gate and 404 pages inside the site's frame (the web layer provides it)."""

    def render(self, title: str, template: str, countdown: bytes = b"", **context: Any) -> bytes:
        """The whole page for `template`, with `countdown` in the meter slot."""
        ...


@dataclass(frozen=True)
class View:
    """The outcome of one page view: 200 page, 301 to `location`, 403 gate, or 404."""

    status: int
    page: BuiltPage | None
    slot: bytes = b""  # the countdown (or reminder) for the page's slot
    set_cookie: bytes | None = None  # the meter Set-Cookie value, when the state changed
    location: str = ""
    signed_in: bool = False  # a live session read it: the same answer for that session a while
    shared: bool = False  # opened through a share link: Referrer-Policy no-referrer


@lru_cache(maxsize=4096)
def institution_banner(name: str, next_url: str) -> bytes:
    """The slot for a reader inside an institution's ranges: who provides access, and sign-in
    for what an account adds (notes)."""
    return (
        f'<p class="meter-countdown institution-access" role="status">Access provided by '
        f'{escape(name)}. <a href="{escape(sign_in_link(next_url))}">Sign in</a> to keep notes.</p>'
    ).encode()


@lru_cache(maxsize=4096)
def share_banner(next_url: str) -> bytes:
    """The slot of a topic opened through a colleague's share link."""
    link = escape(sign_in_link(next_url, "/create-account"))
    return (
        '<p class="meter-countdown share-access" role="status">Shared by a registered colleague '
        f'· <a href="{link}">Create a free account</a></p>'
    ).encode()


@lru_cache(maxsize=4096)
def countdown(remaining: int, counted_now: bool, next_url: str) -> bytes:
    """The anonymous visitor's countdown, correct for the page being served."""
    if remaining == 0 and counted_now:
        text = "This is the last topic you can read before signing in."
    elif remaining == 0:
        text = "You have read all your free topics."
    elif remaining == 1:
        text = "You can read 1 more topic before signing in."
    else:
        text = f"You can read {remaining} more topics before signing in."
    sign_in = html.escape(sign_in_link(next_url))
    create = html.escape(sign_in_link(next_url, "/create-account"))
    return (
        f'<p class="meter-countdown" role="status">{text} '
        f'<a href="{sign_in}">Sign in</a> or '
        f'<a href="{create}">create a free account</a>.</p>'
    ).encode()


def sign_out_token(key: bytes, session_token: str) -> str:
    """The sign-out form's CSRF token, bound to the session: the header's menu is spliced into
    pages that set no CSRF cookie, and only this browser's session cookie can produce it."""
    mac = hmac.new(key, b"sign-out:" + session_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()


def _ascii(text: str) -> str:
    # Splice text travels in an HTTP header to nginx: plain ASCII, everything else as references.
    return html.escape(text).encode("ascii", "xmlcharrefreplace").decode("ascii")


@lru_cache(maxsize=4096)
def anonymous_bar(next_url: str, signed_out: bool = False) -> bytes:
    """The header's account links for a visitor who is not signed in."""
    sign_in = html.escape(sign_in_link(next_url))
    create = html.escape(sign_in_link(next_url, "/create-account"))
    # data-signed-out: drafts.js removes this browser's unsaved note and CPD drafts on seeing it.
    done = (
        '<span class="account-status" role="status" data-signed-out>You have signed out.</span> '
        if signed_out
        else ""
    )
    return (
        f'<nav class="account-bar account-bar--anonymous" aria-label="Account">{done}'
        f'<a class="account-bar__link" href="{sign_in}">Sign in</a> '
        f'<a class="account-bar__link account-bar__link--primary" '
        f'href="{create}">Create account</a></nav>'
    ).encode()


def reader_bar(email: str, next_url: str, token: str, editor: bool = False) -> bytes:
    """The header's account menu for a signed-in reader: My notes, Account, the editorial desk
    (editors only), Sign out (a form)."""
    desk = '<li><a href="/editorial/">Editorial desk</a></li>' if editor else ""
    return (
        '<nav class="account-bar" aria-label="Account"><details class="account-menu">'
        f'<summary class="account-menu__who">{_ascii(email) or "My account"}</summary>'
        '<ul class="account-menu__list">'
        '<li><a href="/account#my-notes">My notes</a></li>'
        '<li><a href="/account">Account</a></li>'
        f"{desk}"
        '<li><form method="post" action="/sign-out">'
        f'<input type="hidden" name="csrf_token" value="{_ascii(token)}">'
        f'<input type="hidden" name="next" value="{_ascii(next_url)}">'
        '<button type="submit" class="account-menu__sign-out">Sign out</button></form></li>'
        "</ul></details></nav>"
    ).encode()


class PageServer:
    """ASGI app for every path that is not the API: pages through the gate, then assets, then 404."""

    def __init__(
        self,
        live: LiveSite,
        store: sessions.SessionStore,
        cookie: MeterCookie,
        rules: Rules,
        secure_cookies: bool,
        views: Views,
        unverified_unlimited: bool = True,
        doors: Doors | None = None,
        shares: ShareCheck | None = None,
        sign_out_key: bytes = b"",
        funnel: FunnelCounter | None = None,
    ) -> None:
        self.live = live
        self.store = store
        self.cookie = cookie
        self.rules = rules
        self.secure = "; Secure" if secure_cookies else ""
        self.views = views
        self.unverified_unlimited = unverified_unlimited
        self.doors = doors or Doors(InstitutionIndex(()), [], None)
        self.shares = shares
        self.sign_out_key = sign_out_key
        self.funnel = funnel

    @property
    def site(self) -> SiteIndex:
        """The live build's pages (a request takes its build once, from `self.live.current()`)."""
        return self.live.site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _send(send, 405, [(b"allow", b"GET, HEAD")], b"Method not allowed", method)
            return
        path: str = scope["path"]
        build = self.live.current()  # this request's build, from its first byte to its last
        found = build.site.lookup(path)
        if found.page is None and is_asset_path(path):
            try:
                response = await build.assets.get_response(path.lstrip("/"), scope)
            except HTTPException:
                pass  # not a file: the site's own 404 page
            else:
                await response(scope, receive, send)
                return
        query = scope.get("query_string", b"").decode("latin-1")
        signed_out = _signed_out(query)
        view = await self.view(found, _header(scope, b"cookie"), method, scope, query)
        headers = [(b"set-cookie", view.set_cookie)] if view.set_cookie else []
        if view.status == 301:
            await _send(send, 301, [(b"location", view.location.encode())], b"", method)
        elif view.status == 404:
            head, tail = build.site.not_found
            body = head + view.slot + tail
            await _send(send, 404, [(b"cache-control", PAGE_CACHE)], body, method)
        elif view.status == 403:
            assert view.page is not None
            body = self._gate(view.page, signed_out)
            await _send(send, 403, [(b"cache-control", GATE_CACHE), *headers], body, method)
        else:
            assert view.page is not None
            parts = build.site.parts(view.page)
            if parts is None:
                # The manifest lists a page whose file is gone: the 404 page, never a 500. The
                # meter cookie is not set, so the visitor spends nothing on a page not sent.
                await self._not_found(scope, send, build.site)
                return
            body = parts[0] + view.slot + parts[1]
            base = _SHARED_HEADERS if view.shared else _BASE_HEADERS
            await _send(send, 200, [(b"cache-control", PAGE_CACHE), *headers], body, method, base)

    async def view(
        self,
        found: Lookup,
        cookie_header: str | None,
        method: str,
        scope: Scope | None = None,
        query: str = "",
    ) -> View:
        """What one page view gets: the single gate decision behind both doors (in-process and
        nginx's auth_request), so the rules exist once. `scope` gives the client's address and
        User-Agent for the institution and crawler doors and the `Sec-Purpose` of a prefetch;
        `query` may carry a share token or say the reader just signed out."""
        cookies = cookie_parser(cookie_header) if cookie_header else {}
        purpose = _purpose(scope) if scope is not None else None
        signed_out = _signed_out(query)
        if found.page is None:
            slot = await to_thread.run_sync(self.countdown_for, cookies, "/", signed_out)
            return View(404, None, slot=slot)
        if found.redirect is not None:
            return View(301, found.page, location=found.redirect)
        page = found.page
        reader, state = await self._visitor(cookies)
        now = int(time.time())
        unmetered = reader is not None and (reader.verified or self.unverified_unlimited)
        visitor = Visitor(signed_in=unmetered)
        if not unmetered and scope is not None:
            visitor = await self._doors(scope, metered=page.meta.access == "metered")
        share_id = None
        if visitor == Visitor() and page.meta.access == "metered" and SHARE_PARAM in query:
            share_id = await self._share(query, page, cookies, now)
            if share_id is not None:
                visitor = Visitor(shared_page=page.token)
        decision = decide(
            page.meta.access,
            page.token,
            visitor,
            state,
            now,
            self.rules,
            count=method == "GET",  # HEAD sends no body, so it never spends a free page
            prefetch=is_prefetch(purpose),
        )
        cookie = None
        if decision.changed and decision.state is not None:
            cookie = self._set_cookie(decision.state, now)
        if (
            self.funnel is not None
            and decision.state is not None  # a metered visitor: no door let them in
            and method == "GET"
            and page.meta.access == "metered"
            and not is_prefetch(purpose)
        ):
            self._count(page.meta.id, decision, now)
        if not decision.allow:
            return View(403, page, set_cookie=cookie)
        if decision.door == "institution" and visitor.institution is not None:
            slot = anonymous_bar(page.meta.url, signed_out) + institution_banner(
                visitor.institution, page.meta.url
            )
        elif decision.door == "crawler":
            slot = b""
        elif decision.door == "share" and share_id is not None:
            if method == "GET":  # HEAD sends no body, so it does not use up the link
                cookie = self._used_cookie(cookies, share_id)
            slot = anonymous_bar(page.meta.url, signed_out) + share_banner(page.meta.url)
            return View(200, page, slot, cookie, shared=True)
        elif decision.remaining is not None:
            slot = anonymous_bar(page.meta.url, signed_out) + countdown(
                decision.remaining, decision.changed, page.meta.url
            )
        else:
            slot = self._bar(reader, cookies, page.meta.url)
            slot += b"" if reader is None or reader.verified else UNVERIFIED_REMINDER
        return View(200, page, slot=slot, set_cookie=cookie, signed_in=unmetered)

    def _count(self, page_id: str, decision: meter.Decision, now: int) -> None:
        """The funnel events of one anonymous view of a metered topic (memory only)."""
        assert self.funnel is not None
        if not decision.allow:
            self.funnel.add(page_id, "gate", now)
            return
        self.funnel.add(page_id, "view", now)
        if decision.changed and decision.state is not None:
            if len(decision.state.pages) == 1:
                self.funnel.add(page_id, "first_view", now)
            if decision.remaining == 0:
                self.funnel.add(page_id, "last_free", now)

    async def _share(
        self, query: str, page: BuiltPage, cookies: Mapping[str, str], now: int
    ) -> int | None:
        """The share id a valid, live, not yet used token in `query` opens `page` with."""
        if self.shares is None:
            return None
        # Raw, not percent-decoded: a token's alphabet never needs escaping, so a re-encoded
        # spelling is not the link that was sent, and opens nothing.
        prefix = SHARE_PARAM + "="
        tokens = [p[len(prefix) :] for p in query.split("&", 20) if p.startswith(prefix)]
        if len(tokens) != 1 or len(tokens[0]) > 100:
            return None
        used = self.shares.tokens.used(cookies.get(USED_COOKIE))
        return await self.shares.opens(tokens[0], page.meta.id, used, now)

    def _used_cookie(self, cookies: Mapping[str, str], share_id: int) -> bytes:
        assert self.shares is not None
        used = self.shares.tokens.used(cookies.get(USED_COOKIE))
        value = self.shares.tokens.used_cookie((*used, share_id))
        return (
            f"{USED_COOKIE}={value}; Path=/; Max-Age={30 * 86400}; HttpOnly; "
            f"SameSite=Lax{self.secure}"
        ).encode()

    async def _doors(self, scope: Scope, metered: bool) -> Visitor:
        """The doors beside the meter for this request's client (address, User-Agent)."""
        return await self.doors.identify(
            peer_of(scope), forwarded_for(scope["headers"]), _header(scope, b"user-agent"), metered
        )

    def _bar(self, reader: Reader | None, cookies: Mapping[str, str], next_url: str) -> bytes:
        """The header's account links or menu for this visitor."""
        token = cookies.get(sessions.COOKIE)
        if reader is None or not token:
            return anonymous_bar(next_url)
        return reader_bar(
            reader.email, next_url, sign_out_token(self.sign_out_key, token), reader.editor
        )

    async def _visitor(
        self, cookies: Mapping[str, str]
    ) -> tuple[Reader | None, meter.MeterState | None]:
        """The signed-in reader (a live server-side session), and the anonymous meter state."""
        token = cookies.get(sessions.COOKIE)
        reader = None
        if token:
            reader = self.store.cached(token) or await to_thread.run_sync(self.store.lookup, token)
        return reader, self.cookie.loads(cookies.get(meter.COOKIE), self.rules)

    async def auth_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`GET /api/gate`: nginx's `auth_request` for the page at `X-Original-URI`.

        204: serve the file in `X-Page-File`, with `X-Meter-Countdown` in the slot and
        `X-Meter-Set-Cookie` as the cookie; 403: the gate (nginx fetches /api/gate/page);
        401: redirect to `X-Gate-Location` (auth_request passes on only 2xx, 401 and 403).
        An unknown page is a 204 naming a file that never exists, so nginx answers its 404 page.

        A signed-in reader's 204 carries `X-Accel-Expires`: nginx may reuse it for that session
        cookie and page as long as a worker would trust the session from memory (the session
        cache time). Every other answer spends or reads the meter and is `no-store`.
        """
        uri = _original_path(scope)
        method = _header(scope, b"x-original-method") or "GET"
        build = self.live.current()
        query = (_header(scope, b"x-original-uri") or "").partition("?")[2]
        cookie_header = _header(scope, b"cookie")
        view = await self.view(build.site.lookup(uri), cookie_header, method, scope, query)
        if view.status == 200 and view.page is not None and not build.site.exists(view.page):
            # As the embedded door does: a listed page whose file is gone is a 404, and the
            # visitor spends nothing on it (no meter cookie).
            view = View(404, None, slot=view.slot)
        reuse = 0
        if view.signed_in and view.status == 200 and view.page is not None:
            # Only a real page's answer: unknown paths and redirects would let one reader fill
            # the cache with keys of their choosing. And only for what is left of this worker's
            # own trust in the session, so the two caches never stack (250 ms for the answer).
            token = cookie_parser(cookie_header or "").get(sessions.COOKIE, "")
            reuse = int(self.store.trusted_for(token) + 0.25)
        headers: list[tuple[bytes, bytes]] = (
            [(b"x-accel-expires", str(reuse).encode())]
            if reuse
            else [(b"cache-control", b"no-store")]
        )
        if view.set_cookie:
            headers.append((b"x-meter-set-cookie", view.set_cookie))
        if view.status == 301:
            headers.append((b"x-gate-location", view.location.encode()))
            status = 401
        elif view.status == 403:
            status = 403
        else:
            # The build is part of the file's path, so nginx sends the very build decided on.
            page_file = f"{build.page_prefix}/{view.page.meta.file}" if view.page else NO_PAGE_FILE
            headers += [(b"x-page-file", page_file.encode()), (b"x-meter-countdown", view.slot)]
            if view.shared:
                headers.append((b"x-referrer-policy", b"no-referrer"))
            status = 204
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def gate_page(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`GET /api/gate/page`: the gate page (403) for `X-Original-URI`, for nginx's error_page."""
        build = self.live.current()
        found = build.site.lookup(_original_path(scope))
        if found.page is None:
            await self._not_found(scope, send, build.site)
            return
        query = (_header(scope, b"x-original-uri") or "").partition("?")[2]
        body = self._gate(found.page, _signed_out(query))
        await _send(send, 403, [(b"cache-control", GATE_CACHE)], body, scope["method"])

    def _set_cookie(self, state: meter.MeterState, now: int) -> bytes:
        max_age = max(state.window_start + self.rules.window_seconds - now, 0)
        value = self.cookie.dumps(state)
        return (
            f"{meter.COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{self.secure}"
        ).encode()

    def _gate(self, page: BuiltPage, signed_out: bool = False) -> bytes:
        """The gate page for `page`: its title and summary, never its body."""
        return self.views.render(
            page.meta.title,
            "gate.html",
            countdown=anonymous_bar(page.meta.url, signed_out),
            page=page.meta,
            next=page.meta.url,
            free_pages=self.rules.free_pages,
            days=self.rules.window_seconds // 86400,
        )

    def countdown_for(
        self, cookies: Mapping[str, str], next_url: str = "/", signed_out: bool = False
    ) -> bytes:
        """The header's account bar and the countdown a free page shows this visitor. Blocking."""
        token = cookies.get(sessions.COOKIE)
        reader = self.store.lookup(token) if token else None
        if reader is not None and (reader.verified or self.unverified_unlimited):
            bar = self._bar(reader, cookies, next_url)
            return bar + (b"" if reader.verified else UNVERIFIED_REMINDER)
        state = self.cookie.loads(cookies.get(meter.COOKIE), self.rules)
        decision = decide("free", "", False, state, int(time.time()), self.rules)
        return anonymous_bar(next_url, signed_out) + countdown(
            decision.remaining or 0, False, next_url
        )

    async def _not_found(self, scope: Scope, send: Send, site: SiteIndex) -> None:
        raw = _header(scope, b"cookie")
        cookies = cookie_parser(raw) if raw else {}
        slot = await to_thread.run_sync(self.countdown_for, cookies)
        head, tail = site.not_found
        await _send(
            send, 404, [(b"cache-control", PAGE_CACHE)], head + slot + tail, scope["method"]
        )


def _purpose(scope: Scope) -> str | None:
    """Why the browser fetched: `Sec-Purpose` (Chromium) or the older `Purpose`."""
    return _header(scope, b"sec-purpose") or _header(scope, b"purpose")


def _signed_out(query: str) -> bool:
    """Whether the page was reached straight after signing out (`?signed-out`)."""
    return "signed-out" in query.split("&")


def _original_path(scope: Scope) -> str:
    """The decoded path of the URI nginx was asked for (`X-Original-URI`, as `$request_uri`)."""
    raw = _header(scope, b"x-original-uri") or "/"
    return unquote(raw.split("?", 1)[0])


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send(
    send: Send,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    method: str,
    base: list[tuple[bytes, bytes]] = _BASE_HEADERS,
) -> None:
    """One complete response; HEAD gets the headers (with the real length) and no body."""
    all_headers = [*base, (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
