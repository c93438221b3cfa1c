"""Links sent by email: confirm an address, reset a forgotten password. Forms without JavaScript."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from sqlmodel import Session

from site_api.accounts import ratelimit, tokens, users
from site_api.accounts.deps import CurrentUser, OptionalUser, StoreDep
from site_api.accounts.mail import Mailer
from site_api.accounts.sessions import COOKIE as SESSION_COOKIE
from site_api.config import Settings
from site_api.deps import EngineDep, SettingsDep
from site_api.models import User
from site_api.web.routes.auth import FormStr, limit_address
from site_api.web.routes.forms import page, require_csrf

log = logging.getLogger("site_api.email_flows")
router = APIRouter(include_in_schema=False)

#: Messages one account can be sent per hour, whoever asks: nobody can flood a mailbox through us.
#: Counted under `ratelimit.account_key`, like sign-in attempts, so deleting an account clears them.
MAILS_PER_ACCOUNT = ratelimit.Limit(5, timedelta(hours=1))
#: Pages whose address holds a token never pass it on in a `Referer`.
TOKEN_HEADERS = {"referrer-policy": "no-referrer"}
FORGOT_SENT = (
    "If an account exists for that address, we have sent a link to it. "
    "Open the link within one hour to choose a new password."
)


def _link(settings: Settings, path: str, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}?token={token}"


# Confirm an email address


@router.get("/verify-email")
@router.get("/verify-email/")
def verify_email(
    request: Request, engine: EngineDep, user: OptionalUser, token: str = ""
) -> Response:
    """Use a confirmation link: the account's address is confirmed."""
    limit_address(request, "verify")
    user_id = tokens.consume(engine, token, "verify") if token else None
    if user_id is not None:
        with Session(engine) as db:
            account = db.get(User, user_id)
            if account is not None and account.email_verified_at is None:
                account.email_verified_at = users.utcnow()
                db.add(account)
                db.commit()
        # A change of the account's state ends the reset links sent before it.
        tokens.revoke(engine, user_id, "reset")
        if account is not None:
            response = page(
                request,
                "Email address confirmed",
                "message.html",
                heading="Your email address is confirmed",
                paragraphs=["Thank you. Your account is ready to use."],
                link={"href": "/", "text": "Continue reading"}
                if user is not None
                else {"href": "/sign-in", "text": "Sign in"},
            )
            response.headers.update(TOKEN_HEADERS)
            return response
    failed = bool(token) or user is None
    response = page(
        request,
        "Confirm your email address",
        "verify_email.html",
        status_code=400 if failed else 200,
        failed=failed,
        email=user.email if user is not None else "",
        verified=user is not None and user.email_verified_at is not None,
        signed_in=user is not None,
    )
    response.headers.update(TOKEN_HEADERS)
    return response


@router.post("/verify-email/resend")
def resend_verification(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    user: CurrentUser,
    csrf_token: FormStr = "",
) -> Response:
    """Email the signed-in reader a new confirmation link; earlier links stop working."""
    require_csrf(request, csrf_token)
    limit_address(request, "verify-resend")
    if user.email_verified_at is not None or user.id is None:
        return page(
            request,
            "Email address confirmed",
            "message.html",
            heading="Your email address is already confirmed",
            paragraphs=["There is nothing more to do."],
            link={"href": "/", "text": "Continue reading"},
        )
    ratelimit.hit(engine, ratelimit.account_key("verify-resend", user.email), MAILS_PER_ACCOUNT)
    link = _link(settings, "/verify-email", tokens.issue(engine, user.id, "verify"))
    try:
        Mailer(settings).send(
            user.email, "Confirm your email address", VERIFY_TEXT.format(link=link)
        )
    except OSError:  # refused connections and smtplib's own errors alike
        log.exception("could not send a confirmation link to %s", user.email)
        return page(
            request,
            "Message not sent",
            "message.html",
            status_code=503,
            heading="We could not send the message",
            paragraphs=["Our mail server did not accept it. Please try again in a few minutes."],
            link={"href": "/verify-email", "text": "Try again"},
        )
    return page(
        request,
        "Check your email",
        "message.html",
        heading="Check your email",
        paragraphs=[
            f"We have sent a new link to {user.email}. Open it within 24 hours to confirm "
            "your address. Links we sent before no longer work."
        ],
        link=None,
    )


# Forgotten password


@router.get("/forgot-password")
@router.get("/forgot-password/")
def forgot_password_form(request: Request) -> Response:
    """The form that asks for a reset link."""
    return page(request, "Reset your password", "forgot_password.html", email="", messages=[])


@router.post("/forgot-password")
@router.post("/forgot-password/")
def forgot_password(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    email: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    """Email a reset link; the answer is the same whether or not the address has an account."""
    require_csrf(request, csrf_token)
    limit_address(request, "forgot")
    try:
        address = users.normalise_email(email)
    except users.AccountError as exc:
        return page(
            request,
            "Reset your password",
            "forgot_password.html",
            status_code=400,
            email=email,
            messages=[str(exc)],
        )
    # Everything that depends on the address happens after the answer has been sent, so neither
    # the answer nor how long it takes can tell whether the address has an account.
    background.add_task(_send_reset_link, engine, settings, address)
    return page(
        request,
        "Check your email",
        "message.html",
        heading="Check your email",
        paragraphs=[
            FORGOT_SENT,
            "Nothing after a few minutes? Check your spam folder, or ask again.",
        ],
        link={"href": "/sign-in", "text": "Back to sign in"},
    )


def _send_reset_link(engine: Engine, settings: Settings, address: str) -> None:
    user = users.find_user(engine, address)
    if user is None or user.id is None:
        return
    try:
        ratelimit.hit(engine, ratelimit.account_key("forgot-password", address), MAILS_PER_ACCOUNT)
    except ratelimit.RateLimited:
        log.warning("reset link for %s not sent: too many asked for this hour", address)
        return
    link = _link(settings, "/reset-password", tokens.issue(engine, user.id, "reset"))
    Mailer(settings).send_quietly(user.email, "Reset your password", RESET_TEXT.format(link=link))


# Choose a new password


def _reset_user(engine: Engine, token: str) -> User | None:
    user_id = tokens.peek(engine, token, "reset")
    if user_id is None:
        return None
    with Session(engine) as db:
        return db.get(User, user_id)


def _reset_failed(request: Request) -> Response:
    response = page(
        request,
        "Link expired",
        "message.html",
        status_code=400,
        heading="This link does not work any more",
        paragraphs=[
            "A link to reset a password works once, and for one hour. This one has expired, "
            "has been used already, or was not copied whole.",
            "Ask for a new link: it takes a minute.",
        ],
        link={"href": "/forgot-password", "text": "Send me a new link"},
    )
    response.headers.update(TOKEN_HEADERS)
    return response


def _reset_form(
    request: Request, token: str, email: str, messages: list[str], status_code: int = 200
) -> Response:
    response = page(
        request,
        "Choose a new password",
        "reset_password.html",
        status_code=status_code,
        token=token,
        email=email,
        messages=messages,
    )
    response.headers.update(TOKEN_HEADERS)
    return response


@router.get("/reset-password")
@router.get("/reset-password/")
def reset_password_form(request: Request, engine: EngineDep, token: str = "") -> Response:
    """The new-password form; the link stays usable until the form is sent."""
    limit_address(request, "reset")
    user = _reset_user(engine, token)
    if user is None:
        return _reset_failed(request)
    return _reset_form(request, token, user.email, [])


@router.post("/reset-password")
@router.post("/reset-password/")
def reset_password(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    store: StoreDep,
    background: BackgroundTasks,
    token: FormStr = "",
    password: FormStr = "",
    csrf_token: FormStr = "",
) -> Response:
    """Set the new password and sign the account out everywhere."""
    require_csrf(request, csrf_token)
    limit_address(request, "reset")
    user = _reset_user(engine, token)
    if user is None or user.id is None:
        return _reset_failed(request)
    try:
        users.check_password(password, user.email)
    except users.AccountError as exc:
        return _reset_form(request, token, user.email, [str(exc)], status_code=400)
    new_hash = users.hash_password(password)  # before the write, so no lock waits on argon2
    if tokens.consume(engine, token, "reset") != user.id:  # used by a concurrent request
        return _reset_failed(request)
    with Session(engine) as db:
        account = db.get(User, user.id)
        if account is None:
            return _reset_failed(request)
        account.password_hash = new_hash
        # The link reached them at this address, which proves it is theirs.
        account.email_verified_at = account.email_verified_at or users.utcnow()
        db.add(account)
        db.commit()
    tokens.revoke(engine, user.id, "reset")  # any other link sent before this one
    # Whoever knew the old password may hold a session: every one of them ends here.
    store.end_user(user.id)
    # Failed sign-ins with the forgotten password must not lock out the new one.
    ratelimit.reset(engine, ratelimit.account_key("sign-in", user.email))
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        store.end(old)  # the row is gone; this drops this process's cached copy too
    background.add_task(
        Mailer(settings).send_quietly,
        user.email,
        "Your password has been changed",
        CHANGED_TEXT.format(link=f"{settings.public_url.rstrip('/')}/forgot-password"),
    )
    response = page(
        request,
        "Password changed",
        "message.html",
        heading="Your password has been changed",
        paragraphs=[
            "We have signed your account out on every device, this one included.",
            "Sign in with your email address and your new password.",
        ],
        link={"href": "/sign-in", "text": "Sign in"},
        signed_out=True,
    )
    response.headers.update(TOKEN_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


VERIFY_TEXT = """You asked for a new link to confirm your Clinical Notebook email address.

Open this link within 24 hours:

{link}

Any link we sent you before no longer works. If you did not ask for this, ignore this message.
"""

RESET_TEXT = """Someone, probably you, asked to reset the password of your Clinical Notebook account.

To choose a new password, open this link within one hour:

{link}

The link works once. If you did not ask for it, ignore this message: your password stays as it is.
"""

CHANGED_TEXT = """The password of your Clinical Notebook account has just been changed, and the
account has been signed out on every device.

If you made this change, there is nothing more to do.

If you did not, someone else may know your email password: secure your email account first,
then choose a new Clinical Notebook password here:

{link}
"""
