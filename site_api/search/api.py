"""`GET /api/search`: best pages first, a body snippet only for readers entitled to that body."""

from __future__ import annotations

import html
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from site_api.accounts import sessions
from site_api.deps import API_ERRORS
from site_api.search.index import EVERY_BODY, MARK_END, MARK_START, Reader, SearchIndex
from site_api.search.misses import MissCounter
from site_api.serving import meter
from site_api.serving.gate import PageServer
from site_api.serving.meter import readable_without_spending

#: Longest `q` accepted at all (422 beyond); only the first MAX_QUERY_CHARS are searched.
MAX_Q = 1000
MAX_LIMIT = 50
#: Search results depend on who asks (snippets), so no shared cache may keep them.
HEADERS = {"cache-control": "private, no-store", "vary": "Cookie"}

router = APIRouter(tags=["search"])

QueryText = Annotated[
    str,
    Query(max_length=MAX_Q, description="What the reader typed; the first 200 characters count."),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many results, at most.")]


class SearchResult(BaseModel):
    """One page that matched."""

    title: str
    url: str = Field(description="The page's canonical path, e.g. /topics/x/")
    section: str | None
    summary: str
    snippet: str | None = Field(
        description="The body's best passage as HTML text: everything escaped except the "
        "<mark> elements around matched words. Null unless the reader may read this page's "
        "body now (signed in, a free page, or one already counted in their meter), and always "
        "null for suggestions (`suggest=true`)."
    )


class SearchResults(BaseModel):
    """The answer to a search, best first."""

    query: str
    results: list[SearchResult]
    did_you_mean: str | None = Field(
        default=None,
        description="When the query found nothing and a spelling correction (up to two edits a "
        "word, among words the reader may see) did: the correction, whose results these are.",
    )


def marked(snippet: str) -> str:
    """A snippet as inert HTML: the text escaped, only our own <mark> elements added."""
    return html.escape(snippet).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def reader_of(request: Request) -> Reader:
    """Whose bodies the reader asking may search and quote now; never changes their meter.

    Signed in (and unmetered): every body. Otherwise free pages, and the metered pages already
    counted in a meter window still open: anything else would need a view to be counted, which
    only a page view may do (never search).
    """
    pages: PageServer = request.app.state.pages
    token = request.cookies.get(sessions.COOKIE)
    reader = (pages.store.cached(token) or pages.store.lookup(token)) if token else None
    if reader is not None and (reader.verified or pages.unverified_unlimited):
        return EVERY_BODY
    state = pages.cookie.loads(request.cookies.get(meter.COOKIE), pages.rules)
    now = int(time.time())
    counted = frozenset(
        t
        for t in (state.pages if state else ())
        if readable_without_spending("metered", t, False, state, now, pages.rules)
    )
    return Reader(tokens=counted)


def run_search(request: Request, q: str, limit: int, suggest: bool = False) -> SearchResults:
    """Search for `q` as the reader asking. Blocking.

    `suggest`: the search box while typing: names first (see `SearchIndex.search`), and a query
    that finds nothing is not counted (it is usually a word not finished yet).
    """
    index: SearchIndex = request.app.state.search.current()
    plan = index.plan(q)
    if plan is None:
        return SearchResults(query=q, results=[])
    hits, corrected = index.find_planned(plan, limit, reader_of(request), quick=suggest)
    if not hits and not suggest:
        misses: MissCounter = request.app.state.search_misses
        # The client's address as the app's trusted-proxy rule reads it (site_api/web/app.py).
        misses.add(plan.normalised, request.app.state.client_address(request.scope))
    return SearchResults(
        query=q,
        results=[
            SearchResult(
                title=hit.title,
                url=hit.url,
                section=hit.section or None,
                summary=hit.summary,
                snippet=marked(hit.snippet) if hit.snippet else None,
            )
            for hit in hits
        ],
        did_you_mean=corrected,
    )


@router.get("/api/search", response_model=SearchResults, responses={422: API_ERRORS[422]})
def api_search(
    request: Request, q: QueryText = "", limit: Limit = 10, suggest: bool = False
) -> JSONResponse:
    """Topics for a query, best first. `suggest=true` (the search box while typing) is not
    counted among unanswered queries. Never counts a page view against the meter."""
    results = run_search(request, q, limit, suggest=suggest)
    return JSONResponse(results.model_dump(mode="json"), headers=HEADERS)
