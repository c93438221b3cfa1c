"""The preview server: the real app, plus `/_preview/...` and a bar on every HTML page."""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, quote

from starlette.types import Message, Receive, Scope, Send

from site_api.accounts import sessions, users
from site_api.config import ConfigError, Settings, signing_key
from site_api.db import make_engine
from site_api.serving import meter
from site_api.serving.meter import MeterCookie, MeterState, page_token
from site_api.web.app import SiteApp, create_app

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.site(scope, receive, send)
            return
        path: str = scope["path"]
        if path == ROOT + "state":
            await _send(send, 200, b"application/json", self._state())
        elif path == ROOT + "preview.js":
            await _send(send, 200, b"text/javascript; charset=utf-8", SCRIPT)
        elif path.startswith(ROOT + "as/") and path.removeprefix(ROOT + "as/") in MODES:
            await self._view_as(scope, send, path.removeprefix(ROOT + "as/"))
        elif path.startswith(ROOT):
            await _send(send, 404, b"text/plain", b"no such preview page")
        else:
            await self.site(scope, receive, self._with_bar(scope, send))

    def _build_id(self) -> str:
        return self.site.pages.live.current().path.parent.name

    def _state(self) -> bytes:
        error = self.error_file.read_text(encoding="utf-8") if self.error_file.is_file() else ""
        return json.dumps({"build": self._build_id(), "error": error[:2000]}).encode()

    async def _view_as(self, scope: Scope, send: Send, mode: str) -> None:
        """Set the cookies of the chosen visitor and go back to the page."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        back = query.get("next", ["/"])[0]
        if not back.startswith("/") or back.startswith("//"):
            back = "/"
        rules = self.site.pages.rules
        now = int(time.time())
        cookies = [f"{MODE_COOKIE}={mode}; Path=/; SameSite=Lax"]
        if mode == "signed-in":
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
            body = _insert_bar(b"".join(chunks), self._bar(scope["path"], mode))
            headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            if scope["method"] != "HEAD":
                headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        return wrapped

    def _bar(self, path: str, mode: str | None) -> bytes:
        back = quote(path, safe="/")
        links = " · ".join(
            f'<a href="{ROOT}as/{key}?next={back}"'
            + (' aria-current="true"' if key == mode else "")
            + f' style="color:#fff;font-weight:{700 if key == mode else 400}">{label}</a>'
            for key, label in MODES.items()
        )
        return (
            '<div class="preview-bar" role="region" aria-label="Preview" data-preview-bar '
            'style="position:sticky;top:0;z-index:10000;background:#4a148c;color:#fff;'
            'font:14px/1.5 system-ui,sans-serif;padding:6px 12px">'
            "<strong>PREVIEW</strong> (not the live site). View as: "
            f'{links} <span data-preview-status style="margin-left:1em"></span></div>'
            f'<script src="{ROOT}preview.js" data-build="{self._build_id()}"></script>'
        ).encode()


def _insert_bar(body: bytes, bar: bytes) -> bytes:
    match = BODY_RE.search(body)
    if match is None:
        return body
    return body[: match.end()] + bar + body[match.end() :]


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope["headers"]:
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                k, _, v = part.strip().partition("=")
                if k == name:
                    return v
    return None


async def _send(send: Send, status: int, kind: bytes, body: bytes) -> None:
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
