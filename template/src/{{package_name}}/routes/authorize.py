"""The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2): login page, consent
page, redirect with a code.

Server-rendered pages that work without JavaScript. An unknown client or an unregistered
redirect URI gets an error page, never a redirect (§4.1.2.1); every other error goes back to the
client's redirect URI with `error` and `state`. Parameters this service does not use (`display`,
`ui_locales`, `claims_locales`, `acr_values`, and any unknown one) are ignored, as Core §3.1.2.1 asks.
"""

import time
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import URL, ImmutableMultiDict

from ..accounts.device_cookies import presented_device, remember_device
from ..accounts.login_attempts import TooManyFailedLogins
from ..accounts.logins import LoginFailed, log_in
from ..accounts.passwords import PasswordHashingBusy
from ..accounts.profiles import IDENTITY_SCOPES, shared_claims
from ..accounts.users import MAX_USERNAME_LENGTH
from ..config import Settings, issuer_of
from ..deps import (
    IdTokenSignersDep,
    PasswordHasherDep,
    SessionDep,
    SettingsDep,
    TokenStoreDep,
    client_address,
)
from ..errors import BUSY_RETRY_AFTER_SECONDS, error_description
from ..oauth import pkce, redirect_uris
from ..oauth.authorization_codes import create_code
from ..oauth.clients import get_client
from ..oauth.consents import consent_covers, remember_consent
from ..oauth.scopes import SCOPES
from ..storage.models import Client, User
from ..storage.token_store import TokenStore
from ..tokens.id_tokens import IdTokenSigners, verified_hint
from ..web.pages import PAGE_HEADERS, checked_form, error_page, form_text, page, page_url, templates
from ..web.sign_ins import SignIn, end_sign_in, holds_sign_in, signed_in_user, start_sign_in

router = APIRouter(tags=["oauth2"], include_in_schema=False)

# Core §3.1.2.1. `select_account` is read as `login`: the login page is where another account is chosen.
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
REAUTHENTICATE = frozenset({"login", "select_account"})
# A nonce is echoed in the ID token; one longer than this is no random value but an attempt to bloat it.
MAX_NONCE_LENGTH = 512


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """The parameters of RFC 6749 §4.1.1 and RFC 7636 §4.3, carried through the pages' forms."""

    response_type: str | None = None
    client_id: str | None = None
    redirect_uri: str | None = None
    scope: str | None = None
    state: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    # OpenID Connect Core §3.1.2.1.
    nonce: str | None = None
    prompt: str | None = None
    max_age: str | None = None
    login_hint: str | None = None
    id_token_hint: str | None = None
    # Request objects (Core §6), which this service does not support: named only to refuse them.
    request: str | None = None
    request_uri: str | None = None
    # Parameters sent more than once, which RFC 6749 §3.1 forbids: the request fails.
    repeated: frozenset[str] = field(default=frozenset(), repr=False)

    @classmethod
    def from_mapping(cls, values: ImmutableMultiDict[str, Any]) -> "AuthorizationRequest":
        names = [field.name for field in fields(cls) if field.name != "repeated"]
        repeated = frozenset(name for name in names if len(values.getlist(name)) > 1)
        return cls(**{name: form_text(values.get(name)) for name in names}, repeated=repeated)

    def params(self) -> dict[str, str]:
        return {
            field.name: value
            for field in fields(self)
            if field.name != "repeated" and (value := getattr(self, field.name)) is not None
        }

    def after_login(self) -> "AuthorizationRequest":
        """The request once the user has just signed in: `prompt=login` and `max_age` are satisfied,
        and so is `id_token_hint`, checked against the user at the login itself."""
        prompts = [prompt for prompt in (self.prompt or "").split() if prompt not in REAUTHENTICATE]
        return replace(self, prompt=" ".join(prompts) or None, max_age=None, id_token_hint=None)


@dataclass(frozen=True, slots=True)
class ValidRequest:
    client: Client
    redirect_uri: str
    scopes: frozenset[str]
    prompts: frozenset[str] = frozenset()
    max_age: int | None = None


class ErrorPage(Exception):
    """The client or its redirect URI cannot be trusted: say so to the user, redirect nowhere."""


class ErrorRedirect(Exception):
    def __init__(self, redirect_uri: str, error: str, description: str) -> None:
        # As at the token endpoint: a description may quote the client's scope, which may be any text.
        description = error_description(description)
        super().__init__(description)
        self.redirect_uri = redirect_uri
        self.error = error
        self.description = description


@router.get("/authorize", name="authorize")
async def authorize(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep, signers: IdTokenSignersDep
) -> Response:
    auth = AuthorizationRequest.from_mapping(request.query_params)
    return await _respond(request, auth, session, store, settings, signers, decision=None)


@router.post("/authorize")
async def decide(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep, signers: IdTokenSignersDep
) -> Response:
    """The consent form: approve or deny, and maybe remember the decision."""
    form = await checked_form(request, settings)
    auth = AuthorizationRequest.from_mapping(form)
    decision = {"decision": form_text(form.get("decision")), "remember": form.get("remember") == "yes"}
    return await _respond(request, auth, session, store, settings, signers, decision=decision)


@router.post("/login", name="login")
async def login(
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    passwords: PasswordHasherDep,
    signers: IdTokenSignersDep,
) -> Response:
    form = await checked_form(request, settings)
    auth = AuthorizationRequest.from_mapping(form)
    try:
        valid = await _validate(auth, session)
    except ErrorPage as exc:
        return error_page(request, str(exc))
    except ErrorRedirect as exc:
        return _redirect(
            request, settings, exc.redirect_uri, auth.state, error=exc.error, error_description=exc.description
        )
    try:
        user = await log_in(
            session,
            store,
            settings,
            passwords,
            username=form_text(form.get("username")) or "",
            password=form_text(form.get("password")) or "",
            address=client_address(request),
            device=presented_device(request, settings),
        )
    except TooManyFailedLogins as exc:
        message = "Too many failed logins; try again later."
        response = _login_page(request, settings, auth, message, status.HTTP_429_TOO_MANY_REQUESTS)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except PasswordHashingBusy:
        message = "The service is busy; try again in a moment."
        response = _login_page(request, settings, auth, message, status.HTTP_503_SERVICE_UNAVAILABLE)
        response.headers["Retry-After"] = BUSY_RETRY_AFTER_SECONDS
        return response
    except LoginFailed:
        return _login_page(request, settings, auth, "Incorrect username or password.", status.HTTP_400_BAD_REQUEST)
    if auth.id_token_hint is not None and not _hint_names(signers, request, settings, auth.id_token_hint, user):
        # Core §3.1.2.1: the client asked for the user its ID token names; another one signed in.
        return _redirect(request, settings, valid.redirect_uri, auth.state, error="login_required")
    response = RedirectResponse(
        str(URL(page_url(request, settings, "authorize")).include_query_params(**auth.after_login().params())),
        status.HTTP_303_SEE_OTHER,
    )
    await start_sign_in(store, settings, request, response, user.username)
    await remember_device(store, settings, request, response, user)
    return response


@router.post("/logout", name="logout")
async def logout(request: Request, store: TokenStoreDep, settings: SettingsDep) -> Response:
    # Without a sign-in (a second click, another tab signed out) there is nothing to end or to check.
    if holds_sign_in(settings, request):
        await checked_form(request, settings)
    response = templates.TemplateResponse(request, "signed_out.html", headers=PAGE_HEADERS)
    await end_sign_in(store, settings, request, response)
    return response


async def _respond(
    request: Request,
    auth: AuthorizationRequest,
    session: AsyncSession,
    store: TokenStore,
    settings: Settings,
    signers: IdTokenSigners,
    decision: dict[str, Any] | None,
) -> Response:
    try:
        valid = await _validate(auth, session)
    except ErrorPage as exc:
        return error_page(request, str(exc))
    except ErrorRedirect as exc:
        return _redirect(
            request, settings, exc.redirect_uri, auth.state, error=exc.error, error_description=exc.description
        )
    signed_in = await signed_in_user(session, store, settings, request)
    if signed_in is None or _must_sign_in(request, settings, signers, auth, valid, *signed_in):
        if "none" in valid.prompts:
            return _redirect(request, settings, valid.redirect_uri, auth.state, error="login_required")
        return _login_page(request, settings, auth)
    browser, user = signed_in
    scopes = valid.scopes & (user.allowed_scopes | IDENTITY_SCOPES)
    if decision is not None:
        if decision["decision"] != "approve":
            return _redirect(
                request, settings, valid.redirect_uri, auth.state, error="access_denied", error_description="Denied"
            )
        if decision["remember"]:
            await remember_consent(session, user.username, valid.client.client_id, scopes)
    elif "consent" in valid.prompts or not await consent_covers(session, user.username, valid.client.client_id, scopes):
        if "none" in valid.prompts:
            return _redirect(request, settings, valid.redirect_uri, auth.state, error="consent_required")
        return _consent_page(request, settings, auth, valid.client, scopes, user)
    code = await _issue_code(store, auth, valid, scopes, browser)
    return _redirect(request, settings, valid.redirect_uri, auth.state, code=code)


async def _validate(auth: AuthorizationRequest, session: AsyncSession) -> ValidRequest:
    if {"client_id", "redirect_uri"} & auth.repeated:
        raise ErrorPage("This request names its application or its return address more than once.")
    client = None if not auth.client_id else await get_client(session, auth.client_id)
    if client is None:
        raise ErrorPage("This application is not registered here.")
    registered = redirect_uris.usable(client.allowed_redirect_uris)
    if auth.redirect_uri is None and len(registered) == 1:
        redirect_uri = registered[0]
    elif auth.redirect_uri is not None and redirect_uris.is_registered(auth.redirect_uri, registered):
        redirect_uri = auth.redirect_uri
    else:
        raise ErrorPage("This application asked to send you to an address it has not registered.")

    def fail(error: str, description: str) -> ErrorRedirect:
        return ErrorRedirect(redirect_uri, error, description)

    if auth.repeated:
        raise fail("invalid_request", f"Repeated parameter: {', '.join(sorted(auth.repeated))}")
    if "authorization_code" not in client.allowed_grant_types:
        raise fail("unauthorized_client", "This client may not use the authorization code grant")
    if auth.response_type != "code":
        raise fail("unsupported_response_type", "Only response_type=code is supported")
    if auth.code_challenge is None:
        if client.is_public:
            raise fail("invalid_request", "Public clients must use PKCE (code_challenge with S256)")
        if auth.code_challenge_method is not None:
            raise fail("invalid_request", "code_challenge_method without code_challenge")
    elif auth.code_challenge_method != pkce.METHOD or not pkce.CHALLENGE.fullmatch(auth.code_challenge):
        raise fail("invalid_request", "PKCE needs code_challenge_method=S256 and a 43-character code_challenge")
    requested = client.allowed_scopes if auth.scope is None else frozenset(auth.scope.split())
    if not requested <= client.allowed_scopes:
        raise fail("invalid_scope", f"Scope not allowed: {' '.join(sorted(requested - client.allowed_scopes))}")
    if auth.request is not None:
        raise fail("request_not_supported", "Request objects are not supported")
    if auth.request_uri is not None:
        raise fail("request_uri_not_supported", "request_uri is not supported")
    prompts = frozenset((auth.prompt or "").split())
    if not prompts <= PROMPTS or ("none" in prompts and len(prompts) > 1):
        raise fail("invalid_request", "prompt is none alone, or any of login, consent and select_account")
    if auth.max_age is not None and not (auth.max_age.isdigit() and auth.max_age.isascii() and len(auth.max_age) < 10):
        raise fail("invalid_request", "max_age is a number of seconds")
    if auth.nonce is not None and len(auth.nonce) > MAX_NONCE_LENGTH:
        raise fail("invalid_request", f"nonce is longer than {MAX_NONCE_LENGTH} characters")
    max_age = None if auth.max_age is None else int(auth.max_age)
    return ValidRequest(client, redirect_uri, requested, prompts, max_age)


def _must_sign_in(
    request: Request,
    settings: Settings,
    signers: IdTokenSigners,
    auth: AuthorizationRequest,
    valid: ValidRequest,
    browser: SignIn,
    user: User,
) -> bool:
    """Whether the signed-in user must sign in again: asked to, signed in too long ago (`max_age`),
    or not the user the client expects (`id_token_hint`)."""
    if valid.prompts & REAUTHENTICATE:
        return True
    if valid.max_age is not None and time.time() - browser.auth_time > valid.max_age:
        return True
    if auth.id_token_hint is not None:
        return not _hint_names(signers, request, settings, auth.id_token_hint, user)
    return False


def _hint_names(signers: IdTokenSigners, request: Request, settings: Settings, id_token_hint: str, user: User) -> bool:
    """Whether the ID token this service issued, given as `id_token_hint`, names USER."""
    hint = verified_hint(signers, id_token_hint, issuer_of(request, settings))
    return hint is not None and hint.get("sub") == user.subject


async def _issue_code(
    store: TokenStore, auth: AuthorizationRequest, valid: ValidRequest, scopes: frozenset[str], browser: SignIn
) -> str:
    return await create_code(
        store,
        client_id=valid.client.client_id,
        redirect_uri=valid.redirect_uri,
        redirect_uri_given=auth.redirect_uri is not None,
        subject=browser.username,
        scopes=scopes,
        code_challenge=auth.code_challenge,
        auth_time=browser.auth_time,
        nonce=auth.nonce,
    )


def _redirect(request: Request, settings: Settings, redirect_uri: str, state: str | None, **params: str) -> Response:
    if state is not None:
        params["state"] = state
    # RFC 9207: the client can tell which server answered, against mix-up attacks.
    params["iss"] = issuer_of(request, settings)
    separator = "&" if "?" in redirect_uri else "?"
    # 303: after a form's POST the browser follows with a GET, never re-posting the form.
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(params)}", status.HTTP_303_SEE_OTHER)


def _login_page(
    request: Request, settings: Settings, auth: AuthorizationRequest, error: str | None = None, status_code: int = 200
) -> Response:
    # Core §3.1.2.1: the hint fills in the username, when it can be one.
    hint = auth.login_hint if auth.login_hint and len(auth.login_hint) <= MAX_USERNAME_LENGTH else ""
    context = {"auth": auth.params(), "error": error, "login_hint": hint}
    return page(request, settings, "login.html", context, status_code)


def _consent_page(
    request: Request,
    settings: Settings,
    auth: AuthorizationRequest,
    client: Client,
    scopes: frozenset[str],
    user: User,
) -> Response:
    described = [(scope, SCOPES.get(scope, scope), shared_claims(scope)) for scope in sorted(scopes)]
    context = {"auth": auth.params(), "client": client, "scopes": described, "username": user.username}
    return page(request, settings, "consent.html", context)
