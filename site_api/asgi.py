"""ASGI entry point for worker processes: `granian --interface asgi --factory site_api.asgi:app`, or `site-api serve`."""

from __future__ import annotations

import os

from site_api.config import Settings
from site_api.web.app import SiteApp, create_app

#: The app `site-api serve` built before starting its workers, and the process that built it.
_built: tuple[int, SiteApp] | None = None


def keep(built: SiteApp) -> None:
    """Hand the app `site-api serve` built (to check the site) to the workers it forks."""
    global _built
    _built = (os.getpid(), built)


def app() -> SiteApp:
    """The application `site-api serve` builds, from the same `SITE_` environment.

    A worker forked from `site-api serve` takes the one its master built (loading a 30,000-topic
    build again cost a second of start-up); a spawned worker, or plain granian, builds its own.
    """
    if _built is None:
        return create_app(Settings())
    pid, built = _built
    if pid != os.getpid():
        # SQLAlchemy's recipe for a forked child: a pooled connection the master may have opened
        # is its, so forget it without closing (the search index reopens its own by itself).
        built.api.state.engine.dispose(close=False)
    return built
