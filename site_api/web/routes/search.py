"""`GET /search`: the search results page inside the site's frame, working without JavaScript."""

from __future__ import annotations

import html
import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from site_api.content.search_index import words
from site_api.search.api import HEADERS, QueryText, run_search
from site_api.web.routes.forms import page

router = APIRouter(include_in_schema=False)

#: Results on the page; the box's suggestions show fewer.
PER_PAGE = 20
_MARKED = re.compile(r"<mark>(.*?)</mark>", re.S)


def adds_words(snippet: str, title: str, summary: str) -> bool:
    """Whether a snippet shows a matched word the title and summary do not already show.

    `snippet` is the escaped text with <mark> around matched words; words compare as the index
    spells them. A result whose summary already carries the words searched for needs no second
    passage (on a phone that keeps three results on the first screen).
    """
    shown = set(words(f"{title} {summary}"))
    marked = {w for m in _MARKED.findall(snippet) for w in words(html.unescape(m))}
    return bool(marked - shown)


@router.get("/search")
@router.get("/search/")
def search_page(request: Request, q: QueryText = "") -> HTMLResponse:
    """The results for `q` (title, section, summary; a snippet where the reader may read it)."""
    found = run_search(request, q, PER_PAGE) if q.strip() else None
    results = [
        {
            **r.model_dump(),
            # escaped + <mark>; left out when it shows no matched word the summary lacks
            "snippet": Markup(r.snippet)
            if r.snippet and adds_words(r.snippet, r.title, r.summary)
            else None,
        }
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
