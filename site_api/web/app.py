"""`create_app(settings)`: wiring only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from site_api import health
from site_api.accounts.sessions import SessionStore
from site_api.config import Settings, signing_key
from site_api.content import csp
from site_api.cpd import api as cpd_api
from site_api.cpd.recorder import CpdRecorder
from site_api.db import flush_every, make_engine
from site_api.notes import api as notes_api
from site_api.notes import library
from site_api.search import api as search_api
from site_api.search.index import LiveSearch
from site_api.search.misses import MissCounter
from site_api.serving.doors import Doors
from site_api.serving.funnel import FunnelCounter
from site_api.serving.gate import PageServer
from site_api.serving.meter import MeterCookie, Rules
from site_api.serving.pages import SiteIndex
from site_api.serving.publishing import LiveSite
from site_api.serving.shares import ShareCheck, ShareTokens
from site_api.serving.static import SECURITY_HEADERS
from site_api.shares import api as shares_api
from site_api.web import errors, oidc
from site_api.web.routes import (
    account,
    account_cpd,
    account_shares,
    auth,
    calculators,
    editorial,
    email_flows,
    report,
    search,
)
from site_api.web.security import (
    BodyLimit,
    CrossSiteWriteGuard,
    SecurityHeaders,
    client_address,
)
from site_api.web.views import LiveViews

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
        "search",
        "editorial",
        "calculators",
    }
)
#: nginx's auth_request and error_page ask these (see deploy/nginx.conf); raw ASGI, no FastAPI
#: routing on the path every production page view takes.
GATE_PATH = "/api/gate"
GATE_PAGE_PATH = "/api/gate/page"
#: Every method some route of the site answers: the server-wide `OPTIONS *` answer.
ALLOW_ALL = "GET, HEAD, POST, PUT, DELETE, OPTIONS"


async def _odd_target(scope: Scope, receive: Receive, send: Send) -> None:
    """`OPTIONS *` (asterisk form) and any target that is not an origin-form path."""
    response: Response
    if scope["method"] == "OPTIONS" and scope["path"] == "*":
        response = Response(status_code=204, headers={"allow": ALLOW_ALL})
    else:
        response = PlainTextResponse("Bad request target: it must start with '/'.", 400)
    await response(scope, receive, send)


def relative_slash_redirects(router: Router) -> None:
    """Redirect `/x/` to `/x` (and back) when only the other exists, with a relative `Location`.

    Starlette's own redirect builds an absolute URL from the `Host` header; this one never
    names a host, so a forged Host cannot steer it."""
    router.redirect_slashes = False
    not_found: ASGIApp = router.default

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if scope["type"] == "http" and path != "/":
            other = {**scope, "path": path.rstrip("/") if path.endswith("/") else path + "/"}
            matched = any(route.matches(other)[0] != Match.NONE for route in router.routes)
            if matched and not other["path"].startswith("//"):
                raw = scope.get("raw_path") or path.encode()
                raw = raw.rstrip(b"/") if path.endswith("/") else raw + b"/"
                query = scope.get("query_string", b"")
                target = raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
                await RedirectResponse(target, status_code=307)(scope, receive, send)
                return
        await not_found(scope, receive, send)

    router.default = default


def _leaf_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route with a path and methods; FastAPI wraps each included router in one entry."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from _leaf_routes(inner.routes) if inner is not None else (route,)


class AllowedMethods:
    """`OPTIONS` on an API path answers every method some route takes there, and so does a
    405's `Allow` (Starlette names only the first route's methods: `Allow: GET` on a path that
    also takes PUT and DELETE)."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods: set[str] = set()
        if scope["type"] == "http":
            for route in _leaf_routes(self.router.routes):
                pattern = getattr(route, "path_regex", None)
                if pattern is not None and pattern.match(scope["path"]):
                    methods |= getattr(route, "methods", None) or set()
        if not methods:
            await self.app(scope, receive, send)
            return
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        if scope["method"] == "OPTIONS":
            headers = {"allow": allow, "cache-control": "private, no-store"}
            await Response(status_code=204, headers=headers)(scope, receive, send)
            return

        async def send_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*kept, (b"allow", allow.encode())]}
            await send(message)

        await self.app(scope, receive, send_allow)


class SiteApp:
    """Sends API paths to FastAPI and everything else through the page gate."""

    def __init__(
        self,
        api: FastAPI,
        pages: PageServer,
        log_level: str = "info",
        log: health.AccessLog | None = None,
        door_headers: dict[str, str] | None = None,
    ) -> None:
        self.api = api
        self.guarded_api = SecurityHeaders(
            CrossSiteWriteGuard(
                BodyLimit(editorial.DeskDoor(AllowedMethods(api, api.router), api))
            ),
            SECURITY_HEADERS,
        )
        self.odd_target = SecurityHeaders(_odd_target, SECURITY_HEADERS)
        self.pages = pages
        level = logging.getLevelName(log_level.upper())
        # nginx's gate question is part of a page view that nginx logs itself (same request id,
        # status and timing), so it gets a line of its own here only at DEBUG.
        unlogged = frozenset({GATE_PATH}) if level > logging.DEBUG else frozenset()
        # The headers nginx adds at its door (CSP, HSTS), added here for the embedded one.
        dispatch: ASGIApp = (
            SecurityHeaders(self._dispatch, door_headers) if door_headers else self._dispatch
        )
        # One JSON line per request at INFO and DEBUG; above, the wrapper is left out altogether.
        self.entry = (
            health.RequestLog(dispatch, log or health.access_log(), unlogged)
            if level <= logging.INFO
            else dispatch
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.entry(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.guarded_api(scope, receive, send)
            return
        path = scope["path"]
        if not path.startswith("/"):  # asterisk, absolute or garbage form: no path to route
            await self.odd_target(scope, receive, send)
        elif path.split("/", 2)[1] not in API_ROOTS:
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
    live = LiveSite(
        settings.site_dir,
        settings.publish_check_seconds,
        load=lambda path: SiteIndex.load(path, settings.page_cache_pages),
    )  # loads the current build; notices later ones
    search_index = LiveSearch(live)  # that build's search index, swapped with it
    engine = make_engine(settings.database_url, settings.database_pool_size)
    store = SessionStore(
        engine,
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(days=settings.session_max_days),
        cache_seconds=settings.session_cache_seconds,
    )
    views = LiveViews(live)
    funnel = FunnelCounter(engine)
    rules = Rules(settings.free_pages, settings.meter_window_days * 86400)
    pages = PageServer(
        live,
        store,
        MeterCookie(key),
        rules,
        secure_cookies=settings.env == "production",
        views=views,
        unverified_unlimited=settings.unverified_read_unlimited,
        doors=Doors.from_settings(settings),
        shares=ShareCheck(share_tokens := ShareTokens(key), engine),
        sign_out_key=key,
        funnel=funnel,
    )
    misses = MissCounter(engine)
    cpd = CpdRecorder(engine, settings.cpd_max_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        every = settings.funnel_flush_seconds
        flushers = [
            asyncio.create_task(flush_every(every, funnel.flush, "funnel counts")),
            asyncio.create_task(flush_every(every, misses.flush, "unanswered searches")),
            asyncio.create_task(flush_every(every, cpd.flush, "CPD reading time")),
        ]
        yield
        for flusher in flushers:
            flusher.cancel()
        # What this worker counted since its last batch (lost only if the process is killed).
        await to_thread.run_sync(funnel.flush)
        misses.flush()
        await to_thread.run_sync(cpd.flush)

    api = FastAPI(
        lifespan=lifespan,
        title="Clinical Notebook API",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    relative_slash_redirects(api.router)
    api.state.settings = settings
    api.state.live = live
    api.state.sessions = store
    api.state.engine = engine
    api.state.views = views
    api.state.pages = pages
    api.state.search = search_index
    api.state.calculators = calculators.LiveCalculators(live)
    api.state.search_misses = misses
    api.state.client_address = lambda scope: client_address(scope, settings.trusted_proxies)
    api.state.funnel = funnel
    api.state.cpd = cpd
    api.state.share_tokens = share_tokens
    errors.install(api)
    api.include_router(auth.router)
    api.include_router(email_flows.router)
    api.include_router(account.router)
    api.include_router(report.router)
    api.include_router(editorial.router)
    api.include_router(notes_api.router)
    api.include_router(search_api.router)
    api.include_router(search.router)
    api.include_router(calculators.router)
    api.include_router(shares_api.router)
    api.include_router(account_shares.router)
    api.include_router(cpd_api.router)
    api.include_router(account_cpd.router)
    api.include_router(library.router)
    api.include_router(health.router)
    oidc.install(api, settings, key)
    return SiteApp(api, pages, settings.log_level, door_headers=door_headers(settings, live.site))


#: deploy/render.py --hsts sends the same.
HSTS = "max-age=31536000; includeSubDomains"


def door_headers(settings: Settings, site: SiteIndex) -> dict[str, str]:
    """What deploy/security-headers.conf adds at nginx's door: the CSP (with the build's inline
    hashes), and HSTS in production, so behaviour tested on one door holds on the other."""
    headers = {
        **SECURITY_HEADERS,  # for responses nothing inside added them to (a Range's 416)
        "content-security-policy": csp.policy(site.csp_scripts, site.csp_styles),
    }
    if settings.env == "production":
        headers["strict-transport-security"] = HSTS
    return headers
