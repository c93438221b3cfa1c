"""Sign in, create an account, sign out: HTML forms that work without JavaScript."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from site_api.accounts import ratelimit, tokens, users
from site_api.accounts.deps import StoreDep
from site_api.accounts.mail import Mailer
from site_api.accounts.sessions import COOKIE as SESSION_COOKIE
from site_api.deps import EngineDep, SettingsDep
from site_api.serving.funnel import FROM_GATE, Event
from site_api.serving.gate import sign_out_token
from site_api.serving.links import sign_in_link
from site_api.web.routes.forms import NO_STORE, page, require_csrf, start_session
from site_api.web.security import client_address, safe_next

router = APIRouter(include_in_schema=False)

ACCOUNT_FAILURES = ratelimit.Limit(10, timedelta(minutes=15))
ADDRESS_ATTEMPTS = ratelimit.Limit(100, timedelta(minutes=15))
SIGN_IN_FAILED = "That email address and password do not match an account."

FormStr = Annotated[str, Form()]
#: `from=gate` on the gate's links, carried through the form: the funnel's only attribution.
GateQuery = Annotated[str, Query(alias=FROM_GATE, max_length=8)]
GateForm = Annotated[str, Form(alias=FROM_GATE, max_length=8)]


def count_from_gate(request: Request, source: str, next_url: str, event: Event) -> None:
    """Count a funnel event for the topic in `next_url` when the reader came from its gate."""
    if source != "gate":
        return
    found = request.app.state.live.site.lookup(next_url.partition("?")[0])
    if found.page is not None and found.page.meta.access == "metered":
        request.app.state.funnel.add(found.page.meta.id, event)


def limit_address(request: Request, action: str) -> None:
    """Count an attempt from this client address (shared by every worker through the database)."""
    settings = request.app.state.settings
    address = client_address(request.scope, settings.trusted_proxies)
    ratelimit.hit(request.app.state.engine, f"{action}:addr:{address}", ADDRESS_ATTEMPTS)


def providers(request: Request) -> list[dict[str, str]]:
    """The single sign-on buttons to show, from settings."""
    return [{"name": p.name, "label": p.label} for p in request.app.state.settings.oidc_providers]


@router.get("/sign-in")
@router.get("/sign-in/")
def sign_in_form(request: Request, next: str = "/", source: GateQuery = "") -> Response:
    """The sign-in page."""
    count_from_gate(request, source, safe_next(next), "gate_sign_in_page")
    return page(
        request,
        "Sign in",
        "sign_in.html",
        next=safe_next(next),
        from_gate=source == "gate",
        email="",
        messages=[],
        providers=providers(request),
    )


@router.post("/sign-in")
@router.post("/sign-in/")
def sign_in(
    request: Request,
    engine: EngineDep,
    email: FormStr = "",
    password: FormStr = "",
    csrf_token: FormStr = "",
    next: FormStr = "/",
    source: GateForm = "",
) -> Response:
    """Check the password; on success a new session and back to `next`."""
    require_csrf(request, csrf_token)
    target = safe_next(next)
    limit_address(request, "sign-in")
    # Counted before argon2 runs, so parallel guesses cannot all pass a check made beforehand.
    account_key = ratelimit.account_key("sign-in", email)
    ratelimit.hit(engine, account_key, ACCOUNT_FAILURES)
    user = users.authenticate(engine, email, password)
    if user is None or user.id is None:
        return page(
            request,
            "Sign in",
            "sign_in.html",
            status_code=400,
            next=target,
            from_gate=source == "gate",
            email=email,
            messages=[SIGN_IN_FAILED],
            providers=providers(request),
        )
    ratelimit.give_back(engine, account_key)  # only failures use up the limit
    count_from_gate(request, source, target, "gate_sign_in")
    return start_session(request, user.id, target)


@router.get("/create-account")
@router.get("/create-account/")
def create_account_form(request: Request, next: str = "/", source: GateQuery = "") -> Response:
    """The create-account page."""
    count_from_gate(request, source, safe_next(next), "gate_create_page")
    return page(
        request,
        "Create a free account",
        "create_account.html",
        next=safe_next(next),
        from_gate=source == "gate",
        email="",
        messages=[],
    )


@router.post("/create-account")
@router.post("/create-account/")
def create_account(
    request: Request,
    background: BackgroundTasks,
    engine: EngineDep,
    settings: SettingsDep,
    email: FormStr = "",
    password: FormStr = "",
    csrf_token: FormStr = "",
    next: FormStr = "/",
    source: GateForm = "",
) -> Response:
    """Create the account and send a verification link; the answer never says if it existed."""
    require_csrf(request, csrf_token)
    target = safe_next(next)
    limit_address(request, "create-account")
    ratelimit.hit(engine, ratelimit.account_key("create-account", email), ACCOUNT_FAILURES)
    try:
        address = users.normalise_email(email)
        users.check_password(password, address)
    except users.AccountError as exc:
        return page(
            request,
            "Create a free account",
            "create_account.html",
            status_code=400,
            next=target,
            from_gate=source == "gate",
            email=email,
            messages=[str(exc)],
        )
    mailer = Mailer(settings)
    existing = users.find_user(engine, address)
    # Mail goes after the answer: a slow or failing mail server neither shows nor times.
    if existing is None:
        try:
            user = users.create_user(engine, address, password)
        except users.AccountError:  # created by a concurrent request a moment ago
            user = None
        if user is not None and user.id is not None:
            token = tokens.issue(engine, user.id, "verify")
            link = f"{settings.public_url}/verify-email?token={token}"
            background.add_task(
                mailer.send_quietly,
                address,
                "Confirm your email address",
                VERIFY_TEXT.format(link=link),
            )
            # Signed in at once (a new session, as at sign-in) and back to the page they were
            # reading; the page's slot carries the reminder to confirm the address.
            count_from_gate(request, source, target, "gate_account")
            response = start_session(request, user.id, target)
            response.background = background
            return response
    else:
        # The owner typing their own password is simply signed in; anyone else learns only
        # what any sign-up form tells (the address is taken), and the owner gets a notice.
        known = users.authenticate(engine, address, password)
        if known is not None and known.id is not None:
            count_from_gate(request, source, target, "gate_sign_in")
            return start_session(request, known.id, target)
        reset = f"{settings.public_url}/forgot-password"
        background.add_task(
            mailer.send_quietly,
            address,
            "You already have an account",
            EXISTS_TEXT.format(link=reset),
        )
    return page(
        request,
        "Check your email",
        "message.html",
        heading="Check your email",
        paragraphs=[
            f"We have sent a message to {address}. Follow the link in it to confirm your address.",
            "Then sign in with your email address and password.",
        ],
        link={"href": sign_in_link(target), "text": "Sign in"},
    )


@router.post("/sign-out")
def sign_out(
    request: Request, store: StoreDep, csrf_token: FormStr = "", next: FormStr = "/"
) -> Response:
    """End this browser's session; back to the page it was on, which says so."""
    token = request.cookies.get(SESSION_COOKIE)
    # The header's menu carries a token bound to the session (no CSRF cookie on static pages).
    key = request.app.state.pages.sign_out_key
    if not (token and key and hmac.compare_digest(sign_out_token(key, token), csrf_token)):
        require_csrf(request, csrf_token)
    if token:
        store.end(token)
    target = safe_next(next)
    if target.startswith("/account"):
        target = "/"  # a signed-out reader has no account page to return to
    target += ("&" if "?" in target else "?") + "signed-out"
    response = RedirectResponse(target, status_code=303, headers=NO_STORE)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


VERIFY_TEXT = """Welcome to Clinical Notebook.

Confirm your email address by opening this link within 24 hours:

{link}

If you did not create an account, ignore this message: nothing more will happen.
"""

EXISTS_TEXT = """Someone, probably you, tried to create a Clinical Notebook account with this
email address. You already have one.

Sign in with your password, or, if you have forgotten it, reset it here:

{link}

If it was not you, ignore this message: your account has not changed.
"""
