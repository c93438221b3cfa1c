"""`GET /calculators/` and `/calculators/<id>/`: free pages, working without JavaScript.

The form is a GET to the calculator's own page: the server evaluates the answers in the query and
shows the result beside them. Answers are never stored or logged (the access log keeps the path
only; nginx's log redacts the query: deploy/nginx.conf), and the page is never cached anywhere,
nor sent on as a referrer. Out of the meter: these routes never reach the page gate.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from site_api.calculators.artifact import BuiltCalculators, read_calculators
from site_api.calculators.evaluate import UNIT_SUFFIX, evaluate
from site_api.calculators.render import form_html, page_url
from site_api.serving.publishing import LiveSite
from site_api.web.routes.forms import page

router = APIRouter(include_in_schema=False)

#: The answers are in the URL: no cache keeps them, and no link sends them on.
ANSWER_HEADERS = {"cache-control": "private, no-store", "referrer-policy": "no-referrer"}


class LiveCalculators:
    """The calculators of the build a server answers with, read again when a build is published."""

    def __init__(self, live: LiveSite) -> None:
        self.live = live
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._found = BuiltCalculators()

    def current(self) -> BuiltCalculators:
        """Every calculator of the live build, with the works they cite."""
        path = self.live.current().path
        if path != self._path:
            with self._lock:
                if path != self._path:
                    self._found, self._path = read_calculators(path), path
        return self._found


def _calculators(request: Request) -> BuiltCalculators:
    live: LiveCalculators = request.app.state.calculators
    return live.current()


@router.get("/calculators")
@router.get("/calculators/")
def index(request: Request) -> HTMLResponse:
    """Every calculator, by title, with what it is for."""
    found = _calculators(request).calculators
    listed = [
        {"title": c.title, "summary": c.summary, "url": page_url(c.id)}
        for c in sorted(found.values(), key=lambda c: c.title.lower())
    ]
    return page(request, "Calculators", "calculators.html", calculators=listed)


@router.get("/calculators/{calc_id}/")
def calculator(request: Request, calc_id: str) -> HTMLResponse:
    """The calculator's form; with answers in the query, their result (or what to correct)."""
    found = _calculators(request)
    calc = found.calculators.get(calc_id)
    if calc is None:
        raise HTTPException(404, "There is no calculator at this address: see /calculators/.")
    names = {s.id for s in calc.inputs} | {s.id + UNIT_SUFFIX for s in calc.inputs}
    raw = {k: v for k, v in request.query_params.items() if k in names}
    outcome = evaluate(calc, raw) if raw else None
    status = 422 if outcome is not None and outcome.errors else 200
    response = page(
        request,
        calc.title,
        "calculator.html",
        status_code=status,
        calc=calc,
        form=form_html(calc, found.sources(calc), raw, outcome),
    )
    response.headers.update(ANSWER_HEADERS)
    return response
