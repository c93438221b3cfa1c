"""Server-rendered pages: Jinja2 bodies (autoescaped) inside the site's own built frame."""

from __future__ import annotations

import html
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from site_api.serving.pages import METER_SLOT, SiteIndex
from site_api.serving.publishing import LiveSite

_env = Environment(
    loader=PackageLoader("site_api.web", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
)


class Views:
    """Renders a template's body into the shell page the MkDocs build made (`shell.html`)."""

    def __init__(self, shell: str) -> None:
        head, title_slot, rest = shell.partition("@@TITLE@@")
        self._before_title, self._after_title = head, rest
        if not title_slot or "@@BODY@@" not in rest or METER_SLOT.decode() not in shell:
            raise ValueError("shell.html lacks its @@TITLE@@, @@BODY@@ or meter slot")

    def render(self, title: str, template: str, countdown: bytes = b"", **context: Any) -> bytes:
        """The whole page: title and body filled, the countdown in the meter slot."""
        body = _env.get_template(template).render(**context)
        page = self._before_title + html.escape(title) + self._after_title
        before_body, _, after_body = page.partition("@@BODY@@")
        # Split first, fill after: nothing a template renders is ever searched for slots.
        head = before_body.replace(METER_SLOT.decode(), countdown.decode(), 1)
        return (head + body + after_body).encode()


class LiveViews:
    """`Views` over the live build's shell: a published build with a new theme is used at once."""

    def __init__(self, live: LiveSite) -> None:
        self.live = live
        self._for: SiteIndex | None = None
        self._views: Views | None = None

    def render(self, title: str, template: str, countdown: bytes = b"", **context: Any) -> bytes:
        """As `Views.render`, in the frame of the build being served now."""
        site = self.live.site
        views = self._views
        if views is None or self._for is not site:
            views = Views(site.shell)
            self._views, self._for = views, site
        return views.render(title, template, countdown, **context)
