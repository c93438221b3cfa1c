"""Errors as a person sees them: a page in the site's frame for browsers, JSON for the API."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from site_api.accounts.ratelimit import RateLimited
from site_api.deps import NO_STORE

TITLES = {
    303: "Please sign in",
    400: "Check what you entered",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    422: "Check what you entered",
    413: "Too large",
    429: "Too many attempts",
}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", "text/html"
    )


def respond(request: Request, status: int, message: str, headers: dict[str, str]) -> Response:
    """The error page (HTML for browsers, JSON otherwise) with `message` and `headers`."""
    headers = {**NO_STORE, **headers}
    if not _wants_html(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    title = TITLES.get(status, "Something went wrong")
    body = request.app.state.views.render(
        title, "message.html", heading=title, paragraphs=[message], link=None
    )
    return Response(
        body, status_code=status, media_type="text/html; charset=utf-8", headers=headers
    )


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(RateLimited)
    async def _rate_limited(request: Request, exc: RateLimited) -> Response:
        minutes = max(1, round(exc.retry_after / 60))
        message = f"Too many attempts. Please wait about {minutes} minute(s) and try again."
        return respond(request, 429, message, {"retry-after": str(exc.retry_after)})

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return respond(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p not in ("body", "query"))
        return respond(request, 422, f"{where}: {first['msg']}".strip(": "), {})
