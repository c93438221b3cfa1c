"""The preview server: the real app, plus `/_preview/...` and a bar on every HTML page.

It answers only `Host` values naming its own address (preview.guard); the bar switches views
with small POST forms carrying the site's CSRF token, and an exposed preview (listening beyond
loopback, `--unsafe-expose`) never signs anyone in without a password.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Sequence
from html import escape
from pathlib import Path
from urllib.parse import parse_qs, quote

from starlette.types import Message, Receive, Scope, Send

from site_api.accounts import sessions, users
from site_api.config import ConfigError, Settings, signing_key
from site_api.content.manifest import EditorialEntry, ManifestError, read_editorial
from site_api.db import make_engine
from site_api.preview.guard import MESSAGE, host_allowed, is_loopback
from site_api.serving import meter
from site_api.serving.meter import MeterCookie, MeterState, page_token
from site_api.web.app import SiteApp, create_app
from site_api.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    csrf_ok,
    is_cross_site,
    new_csrf_token,
    safe_next,
)

ROOT = "/_preview/"
PREVIEW_EMAIL = "preview@example.org"  # a reserved domain: never a real reader
ERROR_FILE = "last-build-error.txt"
#: What the bar offers; each is a set of cookies, so the page goes through the real gate.
MODES = {
    "pages-left": "anonymous, 2 pages left",
    "gated": "anonymous, past the meter",
    "signed-in": "signed in",
}
MODE_COOKIE = "preview_as"
#: The signed-in view needs no password: only a preview reachable from this machine alone offers it.
SIGNED_IN = "signed-in"
FORM_BYTES = 4096  # a view switch's form: a token and a path
BODY_RE = re.compile(rb"<body[^>]*>", re.I)

SCRIPT = b"""// Preview only: reload the tab when a new build is live; show a failed build in the bar.
(function () {
  var me = document.currentScript, build = me.getAttribute("data-build");
  var status = document.querySelector("[data-preview-status]");
  function look() {
    fetch("/_preview/state", {cache: "no-store"}).then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.build !== build) { location.reload(); return; }
        status.textContent = s.error ? "Last build failed: " + s.error : "";
      }).catch(function () {}).then(function () { setTimeout(look, 300); });
  }
  setTimeout(look, 300);
})();
"""


#: The bar's look: a stylesheet of its own, since the site's CSP allows no inline style attribute
#: (`style-src 'self'` and the build's hashes); served at ROOT + "preview.css".
STYLE = b"""/* Preview only: the bar at the top of every page. */
.preview-bar{position:sticky;top:0;z-index:10000;background:#4a148c;color:#fff;
  font:14px/1.5 system-ui,sans-serif;padding:6px 12px}
.preview-bar form{display:inline;margin:0}
.preview-bar button{all:unset;cursor:pointer;text-decoration:underline;color:#fff;font-weight:400}
.preview-bar button:focus-visible{outline:2px solid #fff;outline-offset:2px}
.preview-bar button[aria-current]{font-weight:700;text-decoration:none;border-bottom:2px solid #fff}
.preview-bar .preview-view{margin-left:.5em}
.preview-bar .preview-status{margin-left:1em}
.preview-bar .preview-mark{display:inline-block;margin-left:1em;padding:0 .5em;border-radius:3px;
  background:#ffeb3b;color:#000;font-weight:700}
.preview-bar .preview-mark--approved{background:#c8e6c9}
"""
#: What the bar says of the topic on screen, from the preview build's editorial rows.
MARKS = {
    "draft": "DRAFT: not published until its status is published",
    "none": "NOT APPROVED: no second clinician has approved it",
    "changed": "CHANGED SINCE APPROVAL by {by} on {on}: approve it again",
    "approved": "Approved by {by} on {on}",
}


def preview_dir(settings: Settings) -> Path:
    """Everything the preview owns: its site link and builds, database and last error."""
    return settings.var_dir / "preview"


def preview_settings(settings: Settings) -> Settings:
    """The editor's settings, pointed at the preview's own site, database and quicker swaps."""
    if settings.env == "production":
        raise ConfigError("site-api preview never runs with SITE_ENV=production")
    here = preview_dir(settings)
    return settings.model_copy(
        update={
            "site_dir": here / "site",
            "database_url": f"sqlite:///{here / 'preview.db'}",
            "publish_check_seconds": 0.1,
        }
    )


def preview_app() -> PreviewApp:
    """Granian's factory: the preview app from the `SITE_` environment `site-api preview` set."""
    settings = Settings()
    if settings.env == "production":
        raise ConfigError("site-api preview never runs with SITE_ENV=production")
    return PreviewApp(create_app(settings), settings)


class PreviewApp:
    """Answers `/_preview/...`; passes the rest to the site, with the bar on HTML pages."""

    def __init__(self, site: SiteApp, settings: Settings) -> None:
        self.site = site
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        self.cookie = MeterCookie(signing_key(settings))
        self.store: sessions.SessionStore = site.api.state.sessions
        self.error_file = preview_dir(settings) / ERROR_FILE
        self._rows: tuple[Path, dict[str, EditorialEntry]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.site(scope, receive, send)
            return
        host = _header(scope, b"host")
        if not host_allowed(host, scope.get("server")):
            port = scope["server"][1] if scope.get("server") else "?"
            message = MESSAGE.format(port=port, host=host or "")
            await _send(send, 400, b"text/plain; charset=utf-8", message.encode())
            return
        path: str = scope["path"]
        if path == ROOT + "state":
            await _send(send, 200, b"application/json", self._state())
        elif path == ROOT + "preview.js":
            await _send(send, 200, b"text/javascript; charset=utf-8", SCRIPT)
        elif path == ROOT + "preview.css":
            await _send(send, 200, b"text/css; charset=utf-8", STYLE)
        elif path.startswith(ROOT + "as/") and path.removeprefix(ROOT + "as/") in MODES:
            await self._switch(scope, receive, send, path.removeprefix(ROOT + "as/"))
        elif path.startswith(ROOT):
            await _send(send, 404, b"text/plain", b"no such preview page")
        else:
            await self.site(scope, receive, self._with_bar(scope, send))

    def _build_id(self) -> str:
        return self.site.pages.live.current().path.parent.name

    def _mark(self, path: str) -> str:
        """What the bar says of the topic at `path`: draft, approved or not (none: no topic)."""
        build = self.site.pages.live.current()
        if self._rows is None or self._rows[0] != build.path:
            try:
                rows = {r.id: r for r in read_editorial(build.path)}
            except ManifestError:
                rows = {}
            self._rows = (build.path, rows)
        found = build.site.lookup(path).page
        row = self._rows[1].get(found.meta.id) if found is not None else None
        if row is None:
            return ""
        state = "draft" if row.status == "draft" else row.approval
        text = MARKS[state].format(by=row.approved_by, on=row.approved_on)
        if row.status == "draft" and row.approval != "approved":
            text += "; not approved"
        kind = " preview-mark--approved" if state == "approved" else ""
        return f'<span class="preview-mark{kind}" data-preview-mark="{state}">{escape(text)}</span>'

    def _state(self) -> bytes:
        error = self.error_file.read_text(encoding="utf-8") if self.error_file.is_file() else ""
        return json.dumps({"build": self._build_id(), "error": error[:2000]}).encode()

    async def _switch(self, scope: Scope, receive: Receive, send: Send, mode: str) -> None:
        """`POST /_preview/as/<mode>` from the bar's form: the view switch, or why it is refused."""
        text = b"text/plain; charset=utf-8"
        if scope["method"] != "POST":
            await _send(
                send,
                405,
                text,
                b"Switch views with the preview bar's buttons (POST).",
                [(b"allow", b"POST")],
            )
            return
        if is_cross_site(scope):
            await _send(send, 403, text, b"Cross-site request refused.")
            return
        form = await _form(receive)
        if form is None:
            await _send(send, 413, text, b"The form is too large.")
            return
        if not csrf_ok(_cookie(scope, CSRF_COOKIE), form.get(CSRF_FIELD)):
            message = b"This form has expired or came from another site. Reload the page."
            await _send(send, 403, text, message)
            return
        if mode == SIGNED_IN and not _local(scope):
            message = (
                b"The signed-in view is off while the preview is exposed to the network "
                b"(--unsafe-expose): it would sign in anyone without a password."
            )
            await _send(send, 403, text, message)
            return
        await self._view_as(send, mode, form.get("next", "/"))

    async def _view_as(self, send: Send, mode: str, back: str) -> None:
        """Set the cookies of the chosen visitor and go back to the page."""
        back = safe_next(back)
        rules = self.site.pages.rules
        now = int(time.time())
        cookies = [f"{MODE_COOKIE}={mode}; Path=/; SameSite=Lax"]
        if mode == SIGNED_IN:
            token = self.store.create(self._preview_user())
            cookies.append(f"{sessions.COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax")
            cookies.append(f"{meter.COOKIE}=; Path=/; Max-Age=0")
        else:
            # Pages already counted, of made-up pages: the topic viewed next spends one more.
            # "2 pages left" means the countdown on that topic says 2 more.
            spent = rules.free_pages if mode == "gated" else max(rules.free_pages - 3, 0)
            tokens = tuple(page_token(f"preview-{n}") for n in range(spent))
            value = self.cookie.dumps(MeterState(now, tokens))
            cookies.append(f"{meter.COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax")
            cookies.append(f"{sessions.COOKIE}=; Path=/; Max-Age=0")
        headers = [(b"location", quote(back, safe="/?=&-_.~").encode())]
        headers += [(b"set-cookie", c.encode()) for c in cookies]
        headers.append((b"cache-control", b"no-store"))
        await send({"type": "http.response.start", "status": 303, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def _preview_user(self) -> int:
        """The local preview account (created once, email confirmed)."""
        found = users.find_user(self.engine, PREVIEW_EMAIL)
        if found is None:
            found = users.create_user(
                self.engine, PREVIEW_EMAIL, secrets.token_urlsafe(24), verified=True
            )
        assert found.id is not None
        return found.id

    def _with_bar(self, scope: Scope, send: Send) -> Send:
        """A `send` that puts the preview bar at the top of every HTML page."""
        start: Message | None = None
        chunks: list[bytes] = []
        mode = _cookie(scope, MODE_COOKIE)
        token = _cookie(scope, CSRF_COOKIE)
        new_token = None if token else new_csrf_token()

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                if not kind.startswith(b"text/html"):
                    await send(message)
                    return
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            bar = self._bar(scope["path"], mode, token or new_token or "", _local(scope))
            body = _insert_bar(b"".join(chunks), bar)
            headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            if new_token:
                # The site's own double-submit cookie, as its form pages set it.
                cookie = f"{CSRF_COOKIE}={new_token}; Path=/; HttpOnly; SameSite=Strict"
                headers.append((b"set-cookie", cookie.encode()))
            if scope["method"] != "HEAD":
                headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return wrapped

    def _bar(self, path: str, mode: str | None, token: str, local: bool) -> bytes:
        back = escape(quote(path, safe="/"))
        hidden = (
            f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(token)}">'
            f'<input type="hidden" name="next" value="{back}">'
        )
        offered = {k: v for k, v in MODES.items() if local or k != SIGNED_IN}
        links = " · ".join(
            f'<form method="post" action="{ROOT}as/{key}">'
            + hidden
            + '<button type="submit"'
            + (' aria-current="true"' if key == mode else "")
            + f">{label}</button></form>"
            for key, label in offered.items()
        )
        if not local:
            links += " (signed in: off while exposed to the network)"
        viewing = MODES.get(mode or "", "your own cookies (choose a view)")
        return (
            f'<link rel="stylesheet" href="{ROOT}preview.css">'
            '<div class="preview-bar" role="region" aria-label="Preview" data-preview-bar>'
            "<strong>PREVIEW</strong> (not the live site). "
            f'<span class="preview-view" data-preview-view>Viewing as: <strong>{viewing}</strong>.</span> '
            f"Switch to: {links}{self._mark(path)}"
            ' <span class="preview-status" data-preview-status></span></div>'
            f'<script src="{ROOT}preview.js" data-build="{self._build_id()}"></script>'
        ).encode()


def _insert_bar(body: bytes, bar: bytes) -> bytes:
    match = BODY_RE.search(body)
    if match is None:
        return body
    return body[: match.end()] + bar + body[match.end() :]


def _local(scope: Scope) -> bool:
    """Whether the preview listens on loopback only (not exposed with `--unsafe-expose`)."""
    server = scope.get("server")
    return server is not None and is_loopback(str(server[0]))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _form(receive: Receive) -> dict[str, str] | None:
    """The url-encoded form of the request body, or None when it is larger than a view switch."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > FORM_BYTES:
            return None
        if not message.get("more_body"):
            break
    try:
        fields = parse_qs(body.decode("latin-1"), max_num_fields=10)
    except ValueError:
        return {}  # too many fields: no CSRF token is read from it, so it is refused
    return {k: v[0] for k, v in fields.items()}


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope["headers"]:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
    return None


async def _send(
    send: Send, status: int, kind: bytes, body: bytes, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),  # the 400 names the refused Host
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
