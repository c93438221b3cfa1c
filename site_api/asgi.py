"""ASGI entry point for worker processes: `granian --interface asgi --factory site_api.asgi:app`, or `site-api serve`."""

from __future__ import annotations

from site_api.config import Settings
from site_api.web.app import SiteApp, create_app


def app() -> SiteApp:
    """The application `site-api serve` builds, from the same `SITE_` environment."""
    return create_app(Settings())
