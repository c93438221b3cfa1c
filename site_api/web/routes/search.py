"""`GET /search`: the search results page inside the site's frame, working without JavaScript."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from site_api.search.api import HEADERS, QueryText, run_search
from site_api.web.routes.forms import page

router = APIRouter(include_in_schema=False)

#: Results on the page; the box's suggestions show fewer.
PER_PAGE = 20


@router.get("/search")
@router.get("/search/")
def search_page(request: Request, q: QueryText = "") -> HTMLResponse:
    """The results for `q` (title, section, summary; a snippet where the reader may read it)."""
    found = run_search(request, q, PER_PAGE) if q.strip() else None
    results = [
        {**r.model_dump(), "snippet": Markup(r.snippet) if r.snippet else None}  # escaped + <mark>
        for r in (found.results if found else [])
    ]
    title = f"Search: {q.strip()[:80]}" if q.strip() else "Search"
    corrected = found.did_you_mean if found else None
    response = page(
        request,
        title,
        "search.html",
        q=q,
        searched=found is not None,
        results=results,
        corrected=corrected,
    )
    response.headers.update(HEADERS)
    return response
