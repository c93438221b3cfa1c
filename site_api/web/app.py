"""`create_app(settings)`: wiring only."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from site_api import health
from site_api.accounts.sessions import SessionStore
from site_api.config import Settings, signing_key
from site_api.db import make_engine
from site_api.notes import api as notes_api
from site_api.notes import library
from site_api.serving.gate import PageServer
from site_api.serving.meter import MeterCookie, Rules
from site_api.serving.pages import SiteIndex
from site_api.serving.static import SECURITY_HEADERS, SiteAssets
from site_api.web import errors, oidc
from site_api.web.routes import account, auth, email_flows, report
from site_api.web.security import CrossSiteWriteGuard, SecurityHeaders
from site_api.web.views import Views

#: First path segments the FastAPI application answers; every other path is a page or an asset.
API_ROOTS = frozenset(
    {
        "api",
        "sign-in",
        "create-account",
        "sign-out",
        "account",
        "forgot-password",
        "reset-password",
        "verify-email",
        "report",
        "healthz",
        "readyz",
    }
)
#: nginx's auth_request and error_page ask these (see deploy/nginx.conf); raw ASGI, no FastAPI
#: routing on the path every production page view takes.
GATE_PATH = "/api/gate"
GATE_PAGE_PATH = "/api/gate/page"


class SiteApp:
    """Sends API paths to FastAPI and everything else through the page gate."""

    def __init__(
        self,
        api: FastAPI,
        pages: PageServer,
        log_level: str = "info",
        log: health.AccessLog | None = None,
    ) -> None:
        self.api = api
        self.guarded_api = SecurityHeaders(CrossSiteWriteGuard(api), SECURITY_HEADERS)
        self.pages = pages
        level = logging.getLevelName(log_level.upper())
        # nginx's gate question is part of a page view that nginx logs itself (same request id,
        # status and timing), so it gets a line of its own here only at DEBUG.
        unlogged = frozenset({GATE_PATH}) if level > logging.DEBUG else frozenset()
        # One JSON line per request at INFO and DEBUG; above, the wrapper is left out altogether.
        self.entry = (
            health.RequestLog(self._dispatch, log or health.access_log(), unlogged)
            if level <= logging.INFO
            else self._dispatch
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.entry(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.guarded_api(scope, receive, send)
            return
        path = scope["path"]
        if path.split("/", 2)[1] not in API_ROOTS:
            await self.pages(scope, receive, send)
        elif path == GATE_PATH:
            await self.pages.auth_request(scope, receive, send)
        elif path == GATE_PAGE_PATH:
            await self.pages.gate_page(scope, receive, send)
        else:
            await self.guarded_api(scope, receive, send)


def create_app(settings: Settings) -> SiteApp:
    """Build the application; raises `ManifestError` or `ConfigError` with a message to act on."""
    key = signing_key(settings)
    site = SiteIndex.load(settings.site_dir)
    engine = make_engine(settings.database_url, settings.database_pool_size)
    store = SessionStore(
        engine,
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(days=settings.session_max_days),
        cache_seconds=settings.session_cache_seconds,
    )
    views = Views(site.shell)
    rules = Rules(settings.free_pages, settings.meter_window_days * 86400)
    pages = PageServer(
        site,
        SiteAssets(directory=settings.site_dir, follow_symlink=False),
        store,
        MeterCookie(key),
        rules,
        secure_cookies=settings.env == "production",
        views=views,
        unverified_unlimited=settings.unverified_read_unlimited,
        sign_out_key=key,
    )
    api = FastAPI(
        title="Clinical Notebook API",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    api.state.settings = settings
    api.state.site = site
    api.state.sessions = store
    api.state.engine = engine
    api.state.views = views
    api.state.pages = pages
    errors.install(api)
    api.include_router(auth.router)
    api.include_router(email_flows.router)
    api.include_router(account.router)
    api.include_router(report.router)
    api.include_router(notes_api.router)
    api.include_router(library.router)
    api.include_router(health.router)
    oidc.install(api, settings, key)
    return SiteApp(api, pages, settings.log_level)
