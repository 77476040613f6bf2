"""Signing in with another provider (README, Sign in with another provider): the login page's
"Sign in with ..." links start here, each provider's answer comes back to a callback of its own, and
the account page links and unlinks providers. Mounted when UPSTREAM_PROVIDERS names any.

A callback signs in only with a response to a sign-in this browser began at that same provider (its
state, bound by a cookie, used once), whose code the provider exchanges with this sign-in's PKCE
verifier, and whose ID token holds this sign-in's nonce. Whatever fails shows an error page, says why
in the log and the audit trail, and creates and links nothing."""

import dataclasses
import logging

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.account_emails import notice_messages
from ..accounts.authentication_methods import FEDERATED, MULTI_FACTOR
from ..accounts.passwords import NO_PASSWORD, PasswordHashingBusy
from ..accounts.second_factors import factors_of
from ..audit import trail as audit
from ..config import Settings, issuer_of
from ..deps import PasswordHasherDep, SessionDep, SettingsDep, TokenStoreDep, UpstreamClientsDep, client_address
from ..errors import BUSY_RETRY_AFTER_SECONDS
from ..federation.identities import IdentityTaken, find_identity, identities_of, link_identity, unlink_identity
from ..federation.local_users import NewUsersLimited, NoLocalAccount, user_for
from ..federation.upstream_clients import UpstreamAccount, UpstreamClients, UpstreamRefused
from ..oauth.authorization_requests import REAUTHENTICATE, AuthorizationRequest, authorization_query
from ..observability.metrics import RATE_LIMITED, UPSTREAM_SIGN_INS
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from ..upstream_providers import UpstreamProvider
from ..web.mail_jobs import mail_context, send_later
from ..web.pages import PAGE_HEADERS, checked_form, error_page, form_text, page_url
from ..web.second_factor_pages import continue_sign_in, next_url
from ..web.sign_ins import signed_in_user
from ..web.upstream_sign_ins import PendingSignInInvalid, finish, forget, keep, new_pending
from .account import WrongPassword, check_current_password

router = APIRouter(tags=["upstream"], include_in_schema=False)
logger = logging.getLogger(__name__)

# What a provider's answer may hold at most: codes are short; anything longer is no code.
MAX_CODE_LENGTH = 2048
MAX_ERROR_LENGTH = 64
# The authorization request a start carries along, at most, in its query's length.
MAX_CARRIED_REQUEST = 8192
BUSY = "The service is busy; try again in a moment."
# An identity's key on the account page's unlink form: a SHA-256 in hex.
IDENTITY_KEY_LENGTH = 64

NO_SUCH_PROVIDER = "There is no such provider to sign in with."
STALE = (
    "This sign-in cannot be finished: it has expired, was finished already, or began in another browser. "
    "Start again from the sign-in page."
)


@router.get("/upstream/{name}/start", name="upstream_start")
async def start(
    name: str, request: Request, store: TokenStoreDep, settings: SettingsDep, upstream: UpstreamClientsDep
) -> Response:
    """Send the browser to the provider NAME; the query is the authorization request to go on with."""
    provider = settings.provider(name)
    if provider is None:
        return error_page(request, NO_SUCH_PROVIDER, status.HTTP_404_NOT_FOUND)
    auth = AuthorizationRequest.from_mapping(request.query_params)
    if auth.repeated:
        # The authorization endpoint refuses such a request: it is not carried there cleaned up.
        return error_page(request, "This sign-in request repeats a parameter.", status.HTTP_400_BAD_REQUEST)
    # `id_token_hint` stays, for the authorization endpoint to check against whoever signs in.
    after = dataclasses.replace(auth.after_login(), id_token_hint=auth.id_token_hint)
    then = after.params() if auth.client_id is not None else {}
    # The client asked for a fresh sign-in (Core §3.1.2.1): so is the provider, where it can be.
    prompts = set((auth.prompt or "").split())
    reauthenticate = bool(prompts & REAUTHENTICATE) or auth.max_age is not None
    if reauthenticate and provider.kind == "github":
        message = (
            f"{provider.display_name} cannot confirm a fresh sign-in, which this request asks for. Sign in another way."
        )
        return error_page(request, message, status.HTTP_400_BAD_REQUEST)
    # Carried in the token store until the browser is back: no request of a real client is this large.
    if len(authorization_query(then)) > MAX_CARRIED_REQUEST:
        return error_page(request, "This sign-in request is too large.", status.HTTP_400_BAD_REQUEST)
    return await _sent_to(request, store, settings, upstream, provider, then, None, reauthenticate)


@router.post("/account/upstream/{name}/link", name="upstream_link")
async def link(
    name: str,
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    passwords: PasswordHasherDep,
    upstream: UpstreamClientsDep,
) -> Response:
    """Link the account the user signs in with at provider NAME to theirs (from the account page).

    A link is a lasting way in: as for a passkey, a stolen sign-in alone must not add one. It takes
    the current password, checked as a login is; of a user without one, a sign-in of the last few
    minutes. A notice goes to the account's address once it is linked."""
    signed_in = await signed_in_user(session, store, settings, request)
    if signed_in is None:
        return _account(request, settings)
    form = await checked_form(request, settings)
    provider = settings.provider(name)
    if provider is None:
        return error_page(request, NO_SUCH_PROVIDER, status.HTTP_404_NOT_FOUND)
    browser, user = signed_in
    if user.password_hash != NO_PASSWORD:
        try:
            await check_current_password(request, session, store, settings, passwords, user, form)
        except WrongPassword as exc:
            return exc.answer
        except PasswordHashingBusy:
            busy = error_page(request, BUSY, status.HTTP_503_SERVICE_UNAVAILABLE)
            busy.headers["Retry-After"] = BUSY_RETRY_AFTER_SECONDS
            return busy
    elif not browser.is_recent:
        return _account(request, settings, "sign-in-again")
    return await _sent_to(request, store, settings, upstream, provider, {}, user.username, reauthenticate=False)


@router.post("/account/upstream/unlink", name="upstream_unlink")
async def unlink(request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep) -> Response:
    """Unlink one of the user's providers, unless it is their only way left to sign in."""
    signed_in = await signed_in_user(session, store, settings, request)
    if signed_in is None:
        return _account(request, settings)
    form = await checked_form(request, settings)
    user = signed_in[1]
    key = form_text(form.get("identity")) or ""
    linked = await identities_of(session, user.username)
    if len(key) != IDENTITY_KEY_LENGTH or key not in {identity.identity_key for identity in linked}:
        # Not one of this user's: however made up, it changes nothing.
        return _account(request, settings)
    # Ways that still sign the user in: a password, a passkey, another provider still configured.
    others = [identity for identity in linked if identity.identity_key != key and settings.provider(identity.provider)]
    if not others and user.password_hash == NO_PASSWORD and not (await factors_of(session, user.username)).passkeys:
        return _account(request, settings, "provider-kept")
    await unlink_identity(session, user.username, key)
    return _account(request, settings, "provider-unlinked")


@router.get("/upstream/{name}/callback", name="upstream_callback")
async def callback(
    name: str,
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    upstream: UpstreamClientsDep,
) -> Response:
    """The provider's answer (RFC 6749 §4.1.2, RFC 9207): sign in, or link, or say why not."""
    provider = settings.provider(name)
    if provider is None:
        return error_page(request, NO_SUCH_PROVIDER, status.HTTP_404_NOT_FOUND)
    query = request.query_params
    if any(len(query.getlist(field)) > 1 for field in ("state", "code", "error", "iss")):
        return _refused(request, settings, provider, "a parameter is repeated")
    try:
        pending = await finish(store, request, settings, provider.name, query.get("state"))
    except PendingSignInInvalid:
        return _refused(request, settings, provider, "the state is unknown, used, or another browser's", STALE)
    error, code = query.get("error"), query.get("code")
    if error is not None:
        # The user declined, or the provider refused: nothing to check, nothing to do.
        shown = error[:MAX_ERROR_LENGTH] if error.isascii() and error.isprintable() else "(unreadable)"
        return _refused(request, settings, provider, f"the provider answered error={shown}", declined=True)
    if not code or len(code) > MAX_CODE_LENGTH:
        return _refused(request, settings, provider, "the answer has no code")
    try:
        account = await upstream.client(provider).account(
            code=code,
            redirect_uri=_callback_url(request, settings, provider),
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
            iss=query.get("iss"),
            signed_in_since=pending.started_at if pending.reauthenticate else None,
        )
    except UpstreamRefused as exc:
        return _refused(request, settings, provider, str(exc))
    if pending.link_to is not None:
        return await _link(request, session, store, settings, provider, account, pending.link_to)
    return await _sign_in(request, session, store, settings, provider, account, pending.then)


async def _sent_to(
    request: Request,
    store: TokenStore,
    settings: Settings,
    upstream: UpstreamClients,
    provider: UpstreamProvider,
    then: dict[str, str],
    link_to: str | None,
    reauthenticate: bool,
) -> Response:
    # Each start keeps a pending sign-in until it ends or expires: one address may start this many in that time.
    key = store_key("upstream_sign_ins", client_address(request))
    counts = await store.increment({key: settings.upstream_sign_in_minutes * 60})
    if counts[key] > settings.upstream_sign_ins_per_address:
        RATE_LIMITED.labels("upstream_sign_ins").inc()
        message = "Too many sign-ins with other providers from this address; try again later."
        refused = error_page(request, message, status.HTTP_429_TOO_MANY_REQUESTS)
        refused.headers["Retry-After"] = str(max(await store.ttl(key), 1))
        return refused
    pending = new_pending(provider.name, then, link_to=link_to, reauthenticate=reauthenticate)
    try:
        url = await upstream.client(provider).authorization_url(
            _callback_url(request, settings, provider),
            pending.state,
            pending.code_challenge,
            pending.nonce,
            reauthenticate=reauthenticate,
        )
    except UpstreamRefused as exc:
        logger.warning("upstream provider %s cannot be used: %s", provider.name, exc)
        message = f"{provider.display_name} cannot be reached now; try again later, or sign in another way."
        return error_page(request, message, status.HTTP_502_BAD_GATEWAY)
    # Kept only once the provider is known to be there.
    response = RedirectResponse(url, status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)
    await keep(store, settings, request, response, pending)
    return response


async def _sign_in(
    request: Request,
    session: AsyncSession,
    store: TokenStore,
    settings: Settings,
    provider: UpstreamProvider,
    account: UpstreamAccount,
    then: dict[str, str],
) -> Response:
    async def admit_new_user() -> bool:
        # A user made through a provider counts as a registration: the same limit per address.
        key = store_key("registrations", client_address(request))
        counts = await store.increment({key: settings.registration_window_seconds})
        if counts[key] > settings.max_registrations_per_address:
            RATE_LIMITED.labels("registrations").inc()
            return False
        return True

    try:
        user, linked_by_address = await user_for(
            session, provider, account, registration_open=settings.allow_registration, admit_new_user=admit_new_user
        )
    except NoLocalAccount as exc:
        limited = isinstance(exc, NewUsersLimited)
        reason = "new users from this address are limited" if limited else "no account here is linked to it"
        logger.info("sign-in through upstream provider %s refused: %s", provider.name, reason)
        UPSTREAM_SIGN_INS.labels(provider.name, "limited" if limited else "unlinked").inc()
        detail = {"method": "upstream", "provider": provider.name, "reason": reason}
        audit.record("sign_in.failed", outcome="failure", detail=detail)
        status_code = status.HTTP_429_TOO_MANY_REQUESTS if limited else status.HTTP_403_FORBIDDEN
        return forget(error_page(request, str(exc), status_code), request, settings)
    if user.disabled:
        return _refused(request, settings, provider, "the linked account is disabled", "This account is disabled.")
    if linked_by_address and settings.account_email:
        context, address, username = mail_context(request, settings), user.email, user.username
        send_later(request, lambda: notice_messages(context, "provider_linked", address, username))
    UPSTREAM_SIGN_INS.labels(provider.name, "succeeded").inc()
    detail = {"method": "upstream", "provider": provider.name}
    audit.record("sign_in.succeeded", actor=audit.user(user.username), subject=user.username, detail=detail)
    # RFC 8176: through another provider; with two factors only where the operator trusts its word for them.
    trusted = provider.trust_upstream_mfa and account.multi_factor
    methods = (FEDERATED, MULTI_FACTOR) if trusted else (FEDERATED,)
    response = RedirectResponse(next_url(request, settings, then), status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)
    answer = await continue_sign_in(request, session, store, settings, user, then, response, methods)
    return forget(answer, request, settings)


async def _link(
    request: Request,
    session: AsyncSession,
    store: TokenStore,
    settings: Settings,
    provider: UpstreamProvider,
    account: UpstreamAccount,
    username: str,
) -> Response:
    # The user who asked must still be the one signed in: a sign-in that ended or changed links nothing.
    signed_in = await signed_in_user(session, store, settings, request)
    if signed_in is None or signed_in[1].username != username:
        return _refused(request, settings, provider, "the link was asked by a sign-in that has ended", STALE)
    try:
        await link_identity(session, provider, account.subject, username, account.email)
    except IdentityTaken:
        identity = await find_identity(session, provider, account.subject)
        if identity is None or identity.username != username:
            message = f"This {provider.display_name} account is linked to another account here already."
            return _refused(request, settings, provider, "the account is linked to another user", message)
        return forget(_account(request, settings, "provider-linked"), request, settings)
    if settings.account_email:
        context, address = mail_context(request, settings), signed_in[1].email
        send_later(request, lambda: notice_messages(context, "provider_linked", address, username))
    return forget(_account(request, settings, "provider-linked"), request, settings)


def _refused(
    request: Request,
    settings: Settings,
    provider: UpstreamProvider,
    reason: str,
    message: str | None = None,
    *,
    declined: bool = False,
) -> Response:
    """The error page, MESSAGE or a general one; REASON goes to the log and the audit trail alone."""
    logger.warning("sign-in through upstream provider %s refused: %s", provider.name, reason)
    UPSTREAM_SIGN_INS.labels(provider.name, "declined" if declined else "refused").inc()
    detail = {"method": "upstream", "provider": provider.name, "reason": reason}
    audit.record("sign_in.failed", outcome="failure", detail=detail)
    shown = (
        message
        or f"The sign-in with {provider.display_name} could not be finished. Start again, or sign in another way."
    )
    return forget(error_page(request, shown, status.HTTP_400_BAD_REQUEST), request, settings)


def _callback_url(request: Request, settings: Settings, provider: UpstreamProvider) -> str:
    # Each provider a URL of its own: an answer meant for one cannot be finished at another.
    return f"{issuer_of(request, settings)}/upstream/{provider.name}/callback"


def _account(request: Request, settings: Settings, done: str | None = None) -> Response:
    url = page_url(request, settings, "account") + (f"?done={done}" if done else "")
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)
