"""The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2): login page, consent
page, redirect with a code.

Server-rendered pages that work without JavaScript. `oauth.authorization_requests` checks the
request; a request that fails, there or here, is answered in one place, `_answered`, as §4.1.2.1
says: an unknown client or an unregistered redirect URI gets an error page, never a redirect; every
other error goes back to the client's redirect URI with `error`, `state` and `iss` (RFC 9207).
Parameters this service does not use (`display`, `ui_locales`, `claims_locales`, and any unknown
one) are ignored, as Core §3.1.2.1 asks. `acr_values` naming two factors (`aal2`) asks a user who
signed in with one, and has a second, for it (a step-up).
"""

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from ..accounts.authentication_methods import MULTI_FACTOR, wants_multi_factor
from ..accounts.passwords import PasswordHasher
from ..accounts.profiles import IDENTITY_SCOPES, shared_claims
from ..accounts.second_factors import factors_of
from ..accounts.users import MAX_USERNAME_LENGTH
from ..config import Settings, issuer_of
from ..deps import (
    ClientDocumentsDep,
    IdTokenSignersDep,
    PasswordHasherDep,
    SessionDep,
    SettingsDep,
    TokenStoreDep,
    audience_of,
)
from ..oauth import redirect_uris
from ..oauth.authorization_codes import create_code
from ..oauth.authorization_requests import (
    REAUTHENTICATE,
    AuthorizationRequest,
    ErrorPage,
    ErrorRedirect,
    ValidRequest,
    authorization_query,
    validate,
)
from ..oauth.client_documents import ClientDocuments, document_host
from ..oauth.clients import SELF
from ..oauth.consents import asked_approval, consent_covers, record_consent
from ..oauth.resource_indicators import Target, grantable_by_user, own_api, served_here
from ..oauth.scopes import describe
from ..storage.models import User
from ..storage.token_store import TokenStore
from ..tokens.id_tokens import IdTokenSigners, verified_hint
from ..web.pages import PAGE_HEADERS, checked_form, error_page, form_text, page, page_url, templates
from ..web.password_sign_ins import SignInRefused, password_sign_in
from ..web.second_factor_pages import code_page, continue_sign_in
from ..web.second_factor_sign_ins import end_waiting_sign_in, wait_for_second_factor
from ..web.sign_ins import SignIn, end_sign_in, holds_sign_in, signed_in_user
from ..web.upstream_sign_ins import start_links

router = APIRouter(tags=["oauth2"], include_in_schema=False)


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """What the user chose on the consent page: allow or deny, and whether to remember the choice."""

    approved: bool
    remember: bool

    @classmethod
    def from_form(cls, form: FormData) -> "ConsentDecision":
        return cls(approved=form.get("decision") == "approve", remember=form.get("remember") == "yes")


@router.get("/authorize", name="authorize")
async def authorize(
    request: Request,
    session: SessionDep,
    clients: ClientDocumentsDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    signers: IdTokenSignersDep,
) -> Response:
    auth = AuthorizationRequest.from_mapping(request.query_params, from_client=True)
    answer = _respond(request, auth, session, clients, store, settings, signers, decision=None)
    return await _answered(request, settings, auth, answer)


@router.post("/authorize")
async def decide(
    request: Request,
    session: SessionDep,
    clients: ClientDocumentsDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    signers: IdTokenSignersDep,
) -> Response:
    """The consent form: approve or deny, and maybe remember the decision."""
    form = await checked_form(request, settings)
    auth = AuthorizationRequest.from_mapping(form)
    answer = _respond(request, auth, session, clients, store, settings, signers, ConsentDecision.from_form(form))
    return await _answered(request, settings, auth, answer)


@router.post("/login", name="login")
async def login(
    request: Request,
    session: SessionDep,
    clients: ClientDocumentsDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    passwords: PasswordHasherDep,
    signers: IdTokenSignersDep,
) -> Response:
    form = await checked_form(request, settings)
    auth = AuthorizationRequest.from_mapping(form)
    answer = _sign_in(request, form, auth, session, clients, store, settings, passwords, signers)
    return await _answered(request, settings, auth, answer)


@router.post("/logout", name="logout")
async def logout(request: Request, store: TokenStoreDep, settings: SettingsDep) -> Response:
    # Without a sign-in (a second click, another tab signed out) there is nothing to end or to check.
    if holds_sign_in(settings, request):
        await checked_form(request, settings)
    response = templates.TemplateResponse(request, "signed_out.html", headers=PAGE_HEADERS)
    await end_sign_in(store, settings, request, response)
    # A sign-in waiting for its second factor ends too: a code alone must not sign the browser back in.
    await end_waiting_sign_in(store, settings, request, response)
    return response


async def _answered(
    request: Request, settings: Settings, auth: AuthorizationRequest, answer: Awaitable[Response]
) -> Response:
    """What ANSWER returns; or, when it failed the request, the error answered as RFC 6749 §4.1.2.1
    says: the error page (`ErrorPage`), or a redirect to the client (`ErrorRedirect`)."""
    try:
        return await answer
    except ErrorPage as exc:
        return error_page(request, str(exc))
    except ErrorRedirect as exc:
        return _redirect(request, settings, exc.redirect_uri, auth.state, **exc.params)


async def _respond(
    request: Request,
    auth: AuthorizationRequest,
    session: AsyncSession,
    clients: ClientDocuments,
    store: TokenStore,
    settings: Settings,
    signers: IdTokenSigners,
    decision: ConsentDecision | None,
) -> Response:
    """The login page, the consent page, or the redirect with a code; DECISION is the consent page's answer."""
    own = _own_api(request, settings)
    valid = await validate(auth, session, clients, own, _served(request, settings))
    signed_in = await signed_in_user(session, store, settings, request)
    if signed_in is None or _must_sign_in(request, settings, signers, auth, valid, *signed_in):
        if "none" in valid.prompts:
            raise ErrorRedirect(valid.redirect_uri, "login_required")
        return _login_page(request, settings, auth)
    browser, user = signed_in
    if await _must_step_up(session, settings, auth, browser, user):
        # Core §3.1.2.1: the client asks for two factors, and the user has a second one to give.
        if "none" in valid.prompts:
            raise ErrorRedirect(valid.redirect_uri, "interaction_required")
        response = await code_page(request, session, settings, user, auth.params())
        await wait_for_second_factor(store, settings, request, response, user, browser.methods)
        return response
    scopes = grantable_by_user(valid.scopes, user.allowed_scopes | IDENTITY_SCOPES)
    # Each API the client will reach, with the scopes asked for it: approved, and remembered, apart.
    asked = asked_approval(scopes, valid.targets, own)
    # Before the approval is read or recorded: a withdrawal that deletes it later ends the code.
    approved_at = time.time()
    if decision is not None:
        if not decision.approved:
            raise ErrorRedirect(valid.redirect_uri, "access_denied", "Denied")
        # Every approval is kept, as a connected app of the account page; only a remembered one
        # spares the consent page next time.
        await record_consent(session, user.username, valid.client.client_id, asked, remember=decision.remember)
    elif "consent" in valid.prompts or not await consent_covers(session, user.username, valid.client.client_id, asked):
        if "none" in valid.prompts:
            raise ErrorRedirect(valid.redirect_uri, "consent_required")
        return _consent_page(request, settings, auth, valid, scopes, user)
    code = await _issue_code(store, auth, valid, scopes, browser, approved_at)
    return _redirect(request, settings, valid.redirect_uri, auth.state, code=code)


async def _sign_in(
    request: Request,
    form: FormData,
    auth: AuthorizationRequest,
    session: AsyncSession,
    clients: ClientDocuments,
    store: TokenStore,
    settings: Settings,
    passwords: PasswordHasher,
    signers: IdTokenSigners,
) -> Response:
    """Sign the user in and go on with the authorization request; the login page again if that fails."""
    valid = await validate(auth, session, clients, _own_api(request, settings), _served(request, settings))
    username, password = form_text(form.get("username")) or "", form_text(form.get("password")) or ""
    try:
        user = await password_sign_in(request, session, store, settings, passwords, username, password)
    except SignInRefused as refused:
        return refused.answered(_login_page(request, settings, auth, refused.message, refused.status_code))
    if auth.id_token_hint is not None and not _hint_names(signers, request, settings, auth.id_token_hint, user):
        # Core §3.1.2.1: the client asked for the user its ID token names; another one signed in.
        raise ErrorRedirect(valid.redirect_uri, "login_required")
    then = auth.after_login().params()
    response = RedirectResponse(
        f"{page_url(request, settings, 'authorize')}?{authorization_query(then)}", status.HTTP_303_SEE_OTHER
    )
    return await continue_sign_in(request, session, store, settings, user, then, response)


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


async def _must_step_up(
    session: AsyncSession, settings: Settings, auth: AuthorizationRequest, browser: SignIn, user: User
) -> bool:
    """Whether the client asks for two factors (`acr_values`) of a sign-in made with one, and the
    user has a second factor; without one, the ID token's `acr` tells the client what it got."""
    if settings.mfa == "off" or not wants_multi_factor(auth.acr_values) or MULTI_FACTOR in browser.methods:
        return False
    return (await factors_of(session, user.username)).any


def _hint_names(signers: IdTokenSigners, request: Request, settings: Settings, id_token_hint: str, user: User) -> bool:
    """Whether the ID token this service issued, given as `id_token_hint`, names USER."""
    hint = verified_hint(signers, id_token_hint, issuer_of(request, settings))
    return hint is not None and hint.get("sub") == user.subject


async def _issue_code(
    store: TokenStore,
    auth: AuthorizationRequest,
    valid: ValidRequest,
    scopes: frozenset[str],
    browser: SignIn,
    approved_at: float,
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
        methods=browser.methods,
        approved_at=approved_at,
        nonce=auth.nonce,
        resources=[target.uri for target in valid.targets],
    )


def _own_api(request: Request, settings: Settings) -> Target:
    return own_api(audience_of(settings, issuer_of(request, settings)), settings.realm)


def _served(request: Request, settings: Settings) -> tuple[Target, ...]:
    return served_here(issuer_of(request, settings), settings.realm, settings.mcp)


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
    context: dict[str, object] = {"auth": auth.params(), "error": error, "login_hint": hint}
    # The sign-up and reset pages are mounted only with account e-mail.
    context["forgot_password"] = settings.account_email
    context["sign_up"] = settings.offers_sign_up
    # Passkeys are served with second factors.
    context["passkeys"] = settings.mfa != "off"
    context["upstream"] = start_links(request, settings, auth.params())
    return page(request, settings, "login.html", context, status_code)


def _consent_page(
    request: Request,
    settings: Settings,
    auth: AuthorizationRequest,
    valid: ValidRequest,
    scopes: frozenset[str],
    user: User,
) -> Response:
    described = [(scope, describe(scope), shared_claims(scope)) for scope in sorted(scopes)]
    context = {
        "auth": auth.params(),
        "client": valid.client,
        # A self-registered client's name is its own claim (RFC 7591 §5): the page says so, and names
        # where the browser goes back to, which the client cannot choose to be another's.
        "self_registered": valid.client.registered_by == SELF,
        "return_host": redirect_uris.shown_host(urlsplit(valid.redirect_uri).netloc),
        # A metadata document's client named itself too: the page says where its description came from.
        "document_host": document_host(valid.client),
        "scopes": described,
        "username": user.username,
        # Named only when the request names resources: the own API alone is what the page always meant.
        "resources": [(target.name, target.uri) for target in valid.targets] if auth.resource is not None else [],
    }
    return page(request, settings, "consent.html", context)
