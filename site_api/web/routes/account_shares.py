"""The reader's share links on the account side: the list, and revoking one without JavaScript."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from site_api.accounts.deps import OptionalUser
from site_api.accounts.users import utcnow
from site_api.deps import EngineDep
from site_api.shares.api import list_shares, revoke, share_out
from site_api.web.routes.forms import NO_STORE, page, require_csrf

router = APIRouter(include_in_schema=False)


@router.get("/account/shares")
def shares_page(
    request: Request, engine: EngineDep, user: OptionalUser, done: str = ""
) -> Response:
    """Every share link the reader made, with Revoke on the live ones."""
    if user is None or user.id is None:
        return RedirectResponse("/sign-in?next=/account/shares", status_code=303, headers=NO_STORE)
    now = utcnow()
    items = [share_out(request, row, now) for row in list_shares(engine, user.id)]
    return page(
        request,
        "Your share links",
        "account_shares.html",
        items=[
            {**item.model_dump(), "expires_text": item.expires_at.strftime("%-d %B %Y %H:%M UTC")}
            for item in items
        ],
        notice="The link was revoked: it opens nothing from now on." if done == "revoked" else "",
        per_day=request.app.state.settings.shares_per_day,
        days=request.app.state.settings.share_days,
    )


@router.post("/account/shares/{share_id}/revoke")
def revoke_form(
    request: Request,
    engine: EngineDep,
    user: OptionalUser,
    share_id: int,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Revoke one link (the form on /account/shares)."""
    require_csrf(request, csrf_token)
    if user is None or user.id is None:
        return RedirectResponse("/sign-in?next=/account/shares", status_code=303, headers=NO_STORE)
    if 0 < share_id < 2**31:
        revoke(engine, user.id, share_id)
    return RedirectResponse("/account/shares?done=revoked", status_code=303, headers=NO_STORE)
