"""OpenID Connect sign-in with Authlib: any number of providers from `settings.oidc_providers`."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated, Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from site_api.accounts import tokens
from site_api.accounts.mail import Mailer
from site_api.accounts.oidc import Claims, SignInRefused, user_for
from site_api.config import OidcProvider, Settings
from site_api.serving.links import sign_in_link
from site_api.web.routes.auth import VERIFY_TEXT, GateForm, count_from_gate
from site_api.web.routes.forms import NO_STORE, page, require_csrf, start_session
from site_api.web.security import safe_next

try:  # Authlib talks through httpx2 when it is installed, else through httpx
    import httpx2

    HTTP_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx2.HTTPError)
except ImportError:
    HTTP_ERRORS = (httpx.HTTPError,)
#: What a provider that is down or misconfigured raises while we fetch its discovery document.
UNREACHABLE: tuple[type[Exception], ...] = (*HTTP_ERRORS, ValueError, RuntimeError)
#: What a failed or forged callback raises: OAuth errors, bad ID tokens, transport errors.
REFUSED: tuple[type[Exception], ...] = (
    AuthlibBaseError,
    JoseError,
    *HTTP_ERRORS,
    ValueError,
    KeyError,
)

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

SCOPE = "openid email profile"
#: Authlib keeps state, nonce and PKCE verifier in Starlette's session, and only this flow uses
#: it: its own cookie, sent only to these paths, gone after ten minutes.
STATE_COOKIE = "oauth_state"
STATE_PATH = "/sign-in/oidc"
STATE_MAX_AGE = 600
HTTP_TIMEOUT = 10.0

FormStr = Annotated[str, Form()]


def install(api: FastAPI, settings: Settings, key: bytes) -> None:
    """Register every provider with Authlib, add the state cookie and the sign-in routes."""
    oauth = OAuth()
    for provider in settings.oidc_providers:
        oauth.register(
            provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret.get_secret_value(),
            server_metadata_url=provider.discovery_url,
            client_kwargs={
                "scope": SCOPE,
                "code_challenge_method": "S256",
                "timeout": HTTP_TIMEOUT,
            },
        )
    api.state.oauth = oauth
    # A key of its own, so a value signed for this cookie means nothing to any other.
    state_key = hmac.new(key, b"oauth-state-cookie", hashlib.sha256).hexdigest()
    api.add_middleware(
        SessionMiddleware,
        secret_key=state_key,
        session_cookie=STATE_COOKIE,
        max_age=STATE_MAX_AGE,
        path=STATE_PATH,
        same_site="lax",  # the provider sends the browser back with a top-level GET
        https_only=settings.env == "production",
    )
    api.include_router(router)


def _provider(request: Request, name: str) -> tuple[OidcProvider, StarletteOAuth2App] | None:
    settings: Settings = request.app.state.settings
    for provider in settings.oidc_providers:
        if provider.name == name:
            return provider, request.app.state.oauth.create_client(name)
    return None


def _redirect_uri(settings: Settings, name: str) -> str:
    # From settings, never from the Host header: the provider only accepts registered URIs, and
    # a spoofed Host must not choose where the authorization code is sent.
    return f"{settings.public_url.rstrip('/')}{STATE_PATH}/{name}/callback"


async def _message(
    request: Request, status_code: int, heading: str, paragraphs: list[str], next_url: str = "/"
) -> Response:
    return await run_in_threadpool(
        page,
        request,
        heading,
        "message.html",
        status_code=status_code,
        heading=heading,
        paragraphs=paragraphs,
        link={"href": sign_in_link(next_url), "text": "Back to sign in"},
    )


async def _unknown_provider(request: Request) -> Response:
    return await _message(
        request,
        404,
        "No such sign-in option",
        ["This site does not offer single sign-on with that organisation."],
    )


@router.post(STATE_PATH + "/{name}")
async def start(
    request: Request,
    name: str,
    csrf_token: FormStr = "",
    next: FormStr = "/",
    source: GateForm = "",
) -> Response:
    """Send the browser to the provider: authorization code flow with PKCE, state and nonce."""
    require_csrf(request, csrf_token)
    found = _provider(request, name)
    if found is None:
        return await _unknown_provider(request)
    provider, client = found
    target = safe_next(next)
    redirect_uri = _redirect_uri(request.app.state.settings, name)
    try:
        auth = await client.create_authorization_url(redirect_uri)
    except UNREACHABLE as exc:
        log.warning("OpenID provider %s: discovery failed: %r", name, exc)
        return await _message(
            request,
            502,
            f"{provider.label} is not answering",
            [f"We could not reach {provider.label}. Try again in a few minutes."],
            target,
        )
    url = auth.pop("url")
    # `next` (and whether the reader came from the gate, for the funnel) travels with Authlib's
    # state, nonce and PKCE verifier, in the same signed cookie.
    await client.save_authorize_data(
        request,
        redirect_uri=redirect_uri,
        next=target,
        source="gate" if source == "gate" else "",
        **auth,
    )
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


@router.get(STATE_PATH + "/{name}/callback")
async def callback(request: Request, name: str) -> Response:
    """Back from the provider: check everything, find or create the user, start a session."""
    found = _provider(request, name)
    if found is None:
        return await _unknown_provider(request)
    provider, client = found
    state = request.query_params.get("state")
    saved = await client.framework.get_state_data(request.session, state) if state else None
    target = safe_next(saved.get("next")) if saved else "/"
    settings: Settings = request.app.state.settings
    try:
        claims = await _claims(request, provider, client, saved)
        engine: Engine = request.app.state.engine
        user_id, created = await run_in_threadpool(user_for, engine, provider, claims)
    except SignInRefused as exc:
        return await _message(
            request, exc.status_code, f"Sign-in with {provider.label} failed", [str(exc)], target
        )
    if created and not claims.email_verified:
        await run_in_threadpool(_send_verification, engine, settings, user_id, claims.email)
    source = str(saved.get("source") or "") if saved else ""
    count_from_gate(request, source, target, "gate_account" if created else "gate_sign_in")
    return await run_in_threadpool(start_session, request, user_id, target)


def _send_verification(engine: Engine, settings: Settings, user_id: int, email: str) -> None:
    """The provider did not vouch for the address: confirm it as for a password account."""
    token = tokens.issue(engine, user_id, "verify")
    link = f"{settings.public_url}/verify-email?token={token}"
    try:
        Mailer(settings).send(email, "Confirm your email address", VERIFY_TEXT.format(link=link))
    except OSError as exc:  # signing in still works; the account page sends it again
        log.warning("verification email to %s failed: %r", email, exc)


async def _claims(
    request: Request,
    provider: OidcProvider,
    client: StarletteOAuth2App,
    saved: dict[str, Any] | None,
) -> Claims:
    """The verified claims of the person the provider signed in; `SignInRefused` otherwise."""
    label = provider.label
    error = request.query_params.get("error")
    if error:
        if saved is not None:
            await client.framework.clear_state_data(request.session, request.query_params["state"])
        if error == "access_denied":
            raise SignInRefused(
                f"{label} did not sign you in, or you chose not to share your details."
            )
        raise SignInRefused(f"{label} could not sign you in ({error}). Try again.")
    if saved is None:
        raise SignInRefused(
            "This sign-in has expired or was started in another browser. Start again from the "
            "sign-in page."
        )
    try:
        metadata = await client.load_server_metadata()
        issuer = request.query_params.get("iss")
        if issuer is not None and issuer != metadata.get("issuer"):  # RFC 9207 mix-up defence
            raise SignInRefused(f"The answer did not come from {label}. Start again.")
        token = await client.authorize_access_token(request)
        claims = dict(token.get("userinfo") or {})
        if not claims.get("sub"):
            raise SignInRefused(f"{label} did not send an ID token. Try again.")
        if not claims.get("email"):
            # Many providers put scope claims only in the UserInfo response (OIDC Core 5.4).
            info = await client.userinfo(token=token)
            if info.get("sub") != claims["sub"]:
                raise SignInRefused(f"{label} sent inconsistent details. Try again.")
            claims["email"] = info.get("email")
            claims["email_verified"] = info.get("email_verified")
    except REFUSED as exc:
        log.warning("OpenID provider %s: sign-in failed: %r", provider.name, exc)
        raise SignInRefused(
            f"We could not confirm your sign-in with {label}. Start again from the sign-in page."
        ) from None
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise SignInRefused(
            f"{label} did not share your email address, which we need for your account. "
            "Allow it, or sign in with your email address and password."
        )
    verified = claims.get("email_verified") in (True, "true")  # some providers send a string
    return Claims(str(claims["sub"]), email, verified)
