"""`GET /api/search`: best pages first, a body snippet only for readers entitled to that body."""

from __future__ import annotations

import html
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from site_api.accounts import sessions
from site_api.search.index import MARK_END, MARK_START, Hit, SearchIndex
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
        "body now (signed in, a free page, or one already counted in their meter)."
    )


class SearchResults(BaseModel):
    """The answer to a search, best first."""

    query: str
    results: list[SearchResult]


def marked(snippet: str) -> str:
    """A snippet as inert HTML: the text escaped, only our own <mark> elements added."""
    return html.escape(snippet).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def may_read_now(request: Request) -> tuple[bool, meter.MeterState | None, meter.Rules]:
    """(signed in and unmetered, meter state, rules) of the reader asking; never changes them."""
    pages: PageServer = request.app.state.pages
    token = request.cookies.get(sessions.COOKIE)
    reader = (pages.store.cached(token) or pages.store.lookup(token)) if token else None
    unmetered = reader is not None and (reader.verified or pages.unverified_unlimited)
    state = pages.cookie.loads(request.cookies.get(meter.COOKIE), pages.rules)
    return unmetered, state, pages.rules


def run_search(request: Request, q: str, limit: int, suggest: bool = False) -> SearchResults:
    """Search for `q` as the reader asking. Blocking.

    `suggest`: the search box while typing: names first (see `SearchIndex.search`), and a query
    that finds nothing is not counted (it is usually a word not finished yet).
    """
    index: SearchIndex = request.app.state.search.current()
    plan = index.plan(q)
    if plan is None:
        return SearchResults(query=q, results=[])
    signed_in, state, rules = may_read_now(request)
    now = int(time.time())

    def entitled(hit: Hit) -> bool:
        token = meter.page_token(hit.page_id)
        if hit.access == "free":
            return True
        return readable_without_spending("metered", token, signed_in, state, now, rules)

    hits = index.search(plan, limit, entitled, quick=suggest)
    if not hits and not suggest:
        misses: MissCounter = request.app.state.search_misses
        misses.add(plan.normalised)
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
    )


@router.get("/api/search", response_model=SearchResults)
def api_search(
    request: Request, q: QueryText = "", limit: Limit = 10, suggest: bool = False
) -> JSONResponse:
    """Topics for a query, best first. `suggest=true` (the search box while typing) is not
    counted among unanswered queries. Never counts a page view against the meter."""
    results = run_search(request, q, limit, suggest=suggest)
    return JSONResponse(results.model_dump(mode="json"), headers=HEADERS)
