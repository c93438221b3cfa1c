"""What every HTML form route shares: the page with its CSRF token, the token check, cookies."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from site_api.accounts import sessions
from site_api.deps import NO_STORE
from site_api.web.security import CSRF_COOKIE, csrf_ok, new_csrf_token


def secure_cookies(request: Request) -> bool:
    """`Secure` on cookies whenever the site is served over HTTPS, and always in production."""
    settings = request.app.state.settings
    return bool(settings.env == "production" or request.url.scheme == "https")


def page(
    request: Request,
    title: str,
    template: str,
    status_code: int = 200,
    signed_out: bool = False,
    **context: Any,
) -> HTMLResponse:
    """A server-rendered page with this browser's CSRF token in its forms; `signed_out` when the
    request ended this browser's session (the header says so and drafts.js clears drafts)."""
    token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    views = request.app.state.views
    # Back to this page after signing in, except from the sign-in pages themselves.
    here = request.url.path
    back = here if not here.startswith(("/sign-in", "/create-account")) else "/"
    countdown = request.app.state.pages.countdown_for(request.cookies, back, signed_out)
    body = views.render(title, template, countdown=countdown, csrf_token=token, **context)
    response = HTMLResponse(body, status_code=status_code, headers=NO_STORE)
    if token != request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=secure_cookies(request),
            path="/",
        )
    return response


def require_csrf(request: Request, submitted: str | None) -> None:
    """403 unless the form carries this browser's CSRF token."""
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), submitted):
        raise HTTPException(
            status_code=403,
            detail="This form has expired or came from another site. Reload the page and try again.",
        )


def start_session(request: Request, user_id: int, to: str) -> RedirectResponse:
    """Sign in: end any session this browser had (no fixation), start a new one, go to `to`."""
    store: sessions.SessionStore = request.app.state.sessions
    old = request.cookies.get(sessions.COOKIE)
    if old:
        store.end(old)
    token = store.create(user_id)
    response = RedirectResponse(to, status_code=303, headers=NO_STORE)
    response.set_cookie(
        sessions.COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
        max_age=int(store.absolute.total_seconds()),
    )
    return response
