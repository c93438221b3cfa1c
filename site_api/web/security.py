"""Request safety: same-site `next` targets, cross-site write refusal, CSRF tokens for forms."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import unquote, urlsplit

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from site_api.config import peer_of
from site_api.serving.address import forwarded_client, forwarded_for

CSRF_COOKIE = "csrf"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: Request body limits, the same figures as `client_max_body_size` in deploy/nginx.conf.
API_BODY_BYTES = 64 * 1024  # a note is at most 2,000 characters: 8 KB of UTF-8 at worst
FORM_BODY_BYTES = 1024 * 1024
TOO_LARGE = "The request body is too large: at most {limit} KB."


def safe_next(value: str | None) -> str:
    """`value` if it is a path on this site, else `/`: no open redirects, however encoded."""
    if not value or len(value) > 2000:
        return "/"
    decoded = value
    for _ in range(3):  # a doubly encoded `%252F%252F` must not survive as `//`
        decoded = unquote(decoded)
    for candidate in (value, decoded):
        if not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
            return "/"
        if "\\" in candidate or any(ord(c) < 0x20 or ord(c) == 0x7F for c in candidate):
            return "/"
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return "/"
    return value


def new_csrf_token() -> str:
    """A fresh random token for the CSRF cookie and the forms of this browser."""
    return secrets.token_urlsafe(32)


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    """Double submit: the form's hidden field must equal this browser's CSRF cookie."""
    return bool(cookie and submitted) and hmac.compare_digest(str(cookie), str(submitted))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def is_cross_site(scope: Scope) -> bool:
    """Whether a request comes from another site, by `Sec-Fetch-Site`, else by `Origin`."""
    fetch_site = _header(scope, b"sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = _header(scope, b"origin")
    if origin is None:
        return False  # not a browser's cross-site write; forms still need their CSRF token
    host = _header(scope, b"host")
    return origin == "null" or urlsplit(origin).netloc != host


class CrossSiteWriteGuard:
    """Refuses every state-changing request that another site's page started (403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS and is_cross_site(scope):
            response = PlainTextResponse("Cross-site request refused.", status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def client_address(scope: Scope, trusted_proxies: list[str]) -> str:
    """The client's address: the socket peer, or the last untrusted `X-Forwarded-For` hop
    when the peer is one of our trusted proxies (the page gate uses the same rule)."""
    peer = peer_of(scope) or "unknown"
    return forwarded_client(peer, forwarded_for(scope["headers"]), trusted_proxies)


class SecurityHeaders:
    """Adds the site's security headers to every response of the wrapped app."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def body_limit(path: str) -> int:
    """The most bytes a request body to `path` may have."""
    return API_BODY_BYTES if path.startswith("/api/") else FORM_BODY_BYTES


def _too_large(path: str, limit: int) -> Response:
    message = TOO_LARGE.format(limit=limit // 1024)
    headers = {"cache-control": "private, no-store", "connection": "close"}
    if path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=413, headers=headers)
    return PlainTextResponse(message, status_code=413, headers=headers)


class BodyLimit:
    """Refuses a body over `body_limit` with 413: by its Content-Length before reading a byte,
    else (chunked) as soon as the bytes read pass the limit, so no worker holds more than that."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = body_limit(path)
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                response: Response = PlainTextResponse("Bad Content-Length.", status_code=400)
                await response(scope, receive, send)
                return
            if int(declared) > limit:
                await _too_large(path, limit)(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside FastAPI's body reading: its handlers answer 413 (errors.py).
                    raise HTTPException(413, TOO_LARGE.format(limit=limit // 1024))
            return message

        await self.app(scope, counted, send)
