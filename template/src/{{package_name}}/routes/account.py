"""The account page: a user's own profile, password and e-mail address, the apps they connected
(OWASP ASVS 5.0 V10.7.2, V10.7.3), and signing out everywhere.

Server-rendered and without JavaScript, as the login page is. Every form is checked against CSRF
and needs a sign-in; each answers with a 303 back to the page and a notice named by a fixed word
(`?done=`), never with anything the form sent. Changing the password or the address asks for the
current password, checked as a login is, with the same failed-login limits: a stolen sign-in
alone cannot take the account over, nor guess the password faster than the login page can. A new
address takes the old one's place only once its holder opens the link mailed to it
(accounts/email_confirmations.py).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from ..accounts import login_attempts, password_policy
from ..accounts.account_changes import change_password, sign_out_everywhere
from ..accounts.account_emails import MailContext, notice_messages, verification_messages
from ..accounts.account_tokens import forget_email_change, issue_email_change_token, pending_email
from ..accounts.device_cookies import presented_device
from ..accounts.email_changes import email_change_messages
from ..accounts.login_attempts import TooManyFailedLogins
from ..accounts.logins import EmailNotVerified, LoginFailed, log_in
from ..accounts.passkeys import passkeys_of, remove_passkey
from ..accounts.passwords import MAX_PASSWORD_LENGTH, NO_PASSWORD, PasswordHasher, PasswordHashingBusy
from ..accounts.profiles import Profile
from ..accounts.recovery_codes import replace_codes
from ..accounts.second_factors import factors_of, remove_authenticator
from ..accounts.totp import begin_enrollment, confirm_enrollment, pending_enrollment
from ..accounts.users import get_user, set_profile
from ..config import Settings
from ..deps import (
    ClockDep,
    PasswordHasherDep,
    SecretBoxDep,
    SessionDep,
    SettingsDep,
    TokenStoreDep,
    client_address,
)
from ..errors import BUSY_RETRY_AFTER_SECONDS
from ..federation.identities import identities_of
from ..oauth.clients import client_names
from ..oauth.connected_apps import connected_apps, withdraw
from ..oauth.grants import FIRST_PARTY_CLIENT_ID
from ..storage.database import can_hold
from ..storage.models import RefreshGrant, User
from ..storage.token_store import TokenStore
from ..tokens.refresh_grants import end_refresh_grant, live_grants, recent_refresh_grants
from ..web.mail_jobs import mail_context, send_later
from ..web.pages import PAGE_HEADERS, checked_form, form_text, page, page_url
from ..web.password_sign_ins import SignInRefused, begin_sign_in, password_sign_in
from ..web.second_factor_pages import continue_sign_in, enrollment_page, recovery_codes_page
from ..web.second_factor_sign_ins import count_code_attempt, end_waiting_sign_in
from ..web.sign_ins import end_sign_in, sign_in_id, signed_in_user
from ..web.upstream_sign_ins import link_actions, start_links

router = APIRouter(tags=["account"], include_in_schema=False)

# The renewed sign-ins the page lists at most; `Sign out everywhere` ends the rest too.
LISTED_SIGN_INS = 50
# Noted grants looked at for them at most: those ended by a withdrawal, a password change or a sign-out
# everywhere stay noted until they expire, and must hide no live one behind them.
LOOKED_AT_SIGN_INS = 1000
# How the page names a sign-in with the user's password at the token endpoint, with no registered client.
OWN_SIGN_IN = "A sign-in with your password"


@dataclass(frozen=True, slots=True)
class RenewedSignIn:
    grant_id: str
    app: str
    client_id: str
    scopes: list[str]
    began: str
    renewed: str


@dataclass(frozen=True, slots=True)
class LinkedIdentity:
    key: str
    provider: str
    email: str | None
    linked: str
    used: str


# What `?done=` may name: the one-line notice the page shows after a form's 303.
NOTICES = {
    "signed-in": "You are signed in.",
    "password": "Your password is changed. Every other sign-in and every app's access has ended.",
    "email": "Open the link we sent to your new e-mail address to finish the change.",
    "email-set": "Your e-mail address is changed.",
    "email-unchanged": "That is your e-mail address already.",
    "verification": "If your address still needs confirming, a new link is on its way to it.",
    "withdrawn": "The app no longer has access to your account.",
    "sign-in-ended": "That sign-in has ended: it can no longer renew its access.",
    "signed-out": "You are signed out everywhere.",
    "authenticator-removed": "Your authenticator app is removed, and so are your recovery codes.",
    "passkey-added": "Your passkey is added.",
    "passkey-removed": "The passkey is removed.",
    "provider-linked": "You can now sign in with that account too.",
    "provider-unlinked": "That account no longer signs you in.",
    "provider-kept": "That is your only way to sign in: set a password or add a passkey first.",
    "sign-in-again": "Sign out and in again first: this takes a sign-in of the last few minutes.",
}
BUSY = "The service is busy; try again in a moment."


class NotSignedIn(Exception):
    """A form posted without a sign-in: answered with the sign-in form."""


class WrongPassword(Exception):
    """The current password given with a change was not the user's: answered as a failed login is."""

    def __init__(self, answer: Response) -> None:
        self.answer = answer


@router.get("/account", name="account")
async def account(request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    signed_in = await signed_in_user(session, store, settings, request)
    if signed_in is None:
        return _sign_in_page(request, settings, notice=notice)
    return await _account_page(request, session, store, settings, signed_in[1], notice=notice)


@router.post("/account/sign-in", name="account_sign_in")
async def account_sign_in(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep, passwords: PasswordHasherDep
) -> Response:
    form = await checked_form(request, settings)
    username, password = _field(form, "username") or "", _field(form, "password") or ""
    try:
        user = await password_sign_in(request, session, store, settings, passwords, username, password)
    except SignInRefused as refused:
        return refused.answered(_sign_in_page(request, settings, refused.message, refused.status_code))
    return await continue_sign_in(request, session, store, settings, user, {}, _back(request, settings, "signed-in"))


@router.post("/account/password", name="account_password")
async def account_password(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep, passwords: PasswordHasherDep
) -> Response:
    try:
        user, form = await _signed_in_form(request, session, store, settings)
    except NotSignedIn:
        return _back(request, settings)
    new_password = _field(form, "new_password") or ""
    problem = _password_problem(new_password, user.username)
    if problem is not None:
        return await _account_page(request, session, store, settings, user, error=problem, status_code=400)
    try:
        if user.password_hash != NO_PASSWORD:
            await check_current_password(request, session, store, settings, passwords, user, form)
        elif not await _signed_in_recently(request, session, store, settings):
            # No password to give (signed up through another provider): a recent sign-in sets the first.
            return _back(request, settings, "sign-in-again")
        # Every sign-in ends with the change, this browser's too; it signs in afresh just after.
        await change_password(session, store, passwords, user.username, new_password)
    except WrongPassword as exc:
        return exc.answer
    except PasswordHashingBusy:
        return _busy(await _account_page(request, session, store, settings, user, error=BUSY, status_code=503))
    changed = await get_user(session, user.username)
    response = _back(request, settings, "password")
    if changed is None:
        return response
    await begin_sign_in(store, settings, request, response, changed)
    address, username = changed.email, changed.username
    _mail(request, settings, lambda context: notice_messages(context, "password_changed", address, username))
    return response


@router.post("/account/email", name="account_email")
async def account_email(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep, passwords: PasswordHasherDep
) -> Response:
    try:
        user, form = await _signed_in_form(request, session, store, settings)
    except NotSignedIn:
        return _back(request, settings)
    email = _valid_email(_field(form, "email"))
    if email is None:
        error = "Enter an e-mail address, such as name@example.com."
        return await _account_page(request, session, store, settings, user, error=error, status_code=400)
    try:
        await check_current_password(request, session, store, settings, passwords, user, form)
    except WrongPassword as exc:
        return exc.answer
    except PasswordHashingBusy:
        return _busy(await _account_page(request, session, store, settings, user, error=BUSY, status_code=503))
    username = user.username
    if email == user.email:
        # Asking for the address the account has calls off a change asked for before.
        await forget_email_change(store, username)
        return _back(request, settings, "email-unchanged")
    if not settings.account_email:
        # No link could confirm it: the address is set unverified, as the operator sets one.
        await set_profile(session, username, Profile(email=email))
        return _back(request, settings, "email-set")
    # Nothing changes until the new address's holder uses the link: until then resets and notices
    # go to the old one, which a thief with a sign-in and the password cannot take over.
    token = await issue_email_change_token(store, settings, user, email)
    _mail(request, settings, lambda context: email_change_messages(context, username, email, token))
    return _back(request, settings, "email")


@router.post("/account/verify-email", name="account_verify_email")
async def account_verify_email(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep
) -> Response:
    try:
        user, _form = await _signed_in_form(request, session, store, settings)
    except NotSignedIn:
        return _back(request, settings)
    username = user.username
    _mail(request, settings, lambda context: verification_messages(context, username))
    return _back(request, settings, "verification")


@router.post("/account/apps/withdraw", name="account_withdraw")
async def account_withdraw(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep
) -> Response:
    try:
        user, form = await _signed_in_form(request, session, store, settings)
    except NotSignedIn:
        return _back(request, settings)
    client_id = _field(form, "client_id")
    # Only a connected app of this user is withdrawn: any other id, however made up, changes nothing.
    if client_id and can_hold(client_id):
        await withdraw(session, store, settings, user.username, client_id)
    return _back(request, settings, "withdrawn")


@router.post("/account/sign-ins/end", name="account_end_sign_in")
async def account_end_sign_in(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep
) -> Response:
    """End one sign-in that an app renews with refresh tokens (the page lists them)."""
    try:
        user, form = await _signed_in_form(request, session, store, settings)
    except NotSignedIn:
        return _back(request, settings)
    # Only a sign-in of this user ends: any other id, however made up, changes nothing.
    ended = await end_refresh_grant(session, store, settings, user, _field(form, "grant_id") or "")
    return _back(request, settings, None if ended is None else "sign-in-ended")


@router.post("/account/sign-out-everywhere", name="account_sign_out_everywhere")
async def account_sign_out_everywhere(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep
) -> Response:
    try:
        user, _form = await _signed_in_form(request, session, store, settings)
    except NotSignedIn:
        return _back(request, settings)
    await sign_out_everywhere(session, store, user.username)
    response = _back(request, settings, "signed-out")
    await end_sign_in(store, settings, request, response)
    await end_waiting_sign_in(store, settings, request, response)
    return response


@router.post("/account/authenticator", name="account_authenticator")
async def account_authenticator(
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    passwords: PasswordHasherDep,
    box: SecretBoxDep,
) -> Response:
    """Begin setting up an authenticator app, once the current password is given: its secret, for
    this sign-in alone, until a first code confirms it. An app set up already is removed first."""
    try:
        user, form = await _signed_in_form(request, session, store, settings)
    except NotSignedIn:
        return _back(request, settings)
    holder = sign_in_id(settings, request)
    if settings.mfa == "off" or holder is None or (await factors_of(session, user.username)).any:
        return _back(request, settings)
    try:
        await check_current_password(request, session, store, settings, passwords, user, form)
    except WrongPassword as exc:
        return exc.answer
    except PasswordHashingBusy:
        return _busy(await _account_page(request, session, store, settings, user, error=BUSY, status_code=503))
    enrollment = await begin_enrollment(store, box, user.username, settings.realm, holder)
    return enrollment_page(request, settings, enrollment, "account_authenticator_confirm", {})


@router.post("/account/authenticator/confirm", name="account_authenticator_confirm")
async def account_authenticator_confirm(
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    box: SecretBoxDep,
    clock: ClockDep,
) -> Response:
    """The app's first code: the app becomes the account's second factor, with new recovery codes;
    every other sign-in and token of the account, made without it, ends."""
    try:
        user, form = await _signed_in_form(request, session, store, settings)
    except NotSignedIn:
        return _back(request, settings)
    holder = sign_in_id(settings, request) or ""
    enrollment = await pending_enrollment(store, box, user.username, settings.realm, holder)
    if enrollment is None or settings.mfa == "off":
        return _back(request, settings)
    confirm = "account_authenticator_confirm"
    try:
        attempt = await count_code_attempt(request, session, store, settings, user.username)
    except TooManyFailedLogins as exc:
        error = "Too many wrong codes; try again later."
        answer = enrollment_page(request, settings, enrollment, confirm, {}, error=error, status_code=429)
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    code = _field(form, "code") or ""
    if not await confirm_enrollment(session, store, box, user.username, holder, code, clock()):
        error = "That code is not right. Enter the code your app shows now."
        return enrollment_page(request, settings, enrollment, confirm, {}, error=error, status_code=400)
    await login_attempts.succeeded(store, attempt)
    codes = await replace_codes(session, user.username)
    await sign_out_everywhere(session, store, user.username)
    response = recovery_codes_page(request, settings, codes, page_url(request, settings, "account"))
    changed = await get_user(session, user.username)
    if changed is not None:
        # This browser signs in afresh, as after a password change.
        await begin_sign_in(store, settings, request, response, changed)
    address, username = user.email, user.username
    _mail(request, settings, lambda context: notice_messages(context, "second_factor_added", address, username))
    return response


@router.post("/account/authenticator/remove", name="account_authenticator_remove")
async def account_authenticator_remove(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep, passwords: PasswordHasherDep
) -> Response:
    """Remove the authenticator app and the recovery codes, once the current password is given."""
    try:
        user, form = await _signed_in_form(request, session, store, settings)
    except NotSignedIn:
        return _back(request, settings)
    try:
        await check_current_password(request, session, store, settings, passwords, user, form)
    except WrongPassword as exc:
        return exc.answer
    except PasswordHashingBusy:
        return _busy(await _account_page(request, session, store, settings, user, error=BUSY, status_code=503))
    await remove_authenticator(session, user.username)
    address, username = user.email, user.username
    _mail(request, settings, lambda context: notice_messages(context, "second_factor_removed", address, username))
    return _back(request, settings, "authenticator-removed")


@router.post("/account/passkeys/remove", name="account_passkey_remove")
async def account_passkey_remove(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep, passwords: PasswordHasherDep
) -> Response:
    """Remove one of the user's passkeys, once the current password is given."""
    try:
        user, form = await _signed_in_form(request, session, store, settings)
    except NotSignedIn:
        return _back(request, settings)
    passkey_id = _field(form, "passkey_id") or ""
    # A row id as the page shows it; anything else names no passkey.
    if settings.mfa == "off" or not (passkey_id.isascii() and passkey_id.isdigit() and len(passkey_id) <= 18):
        return _back(request, settings)
    try:
        await check_current_password(request, session, store, settings, passwords, user, form)
    except WrongPassword as exc:
        return exc.answer
    except PasswordHashingBusy:
        return _busy(await _account_page(request, session, store, settings, user, error=BUSY, status_code=503))
    if await remove_passkey(session, user.username, int(passkey_id)):
        address, username = user.email, user.username
        _mail(request, settings, lambda context: notice_messages(context, "passkey_removed", address, username))
    return _back(request, settings, "passkey-removed")


@router.post("/account/recovery-codes", name="account_recovery_codes")
async def account_recovery_codes(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep, passwords: PasswordHasherDep
) -> Response:
    """New recovery codes in place of the old ones, once the current password is given."""
    try:
        user, form = await _signed_in_form(request, session, store, settings)
    except NotSignedIn:
        return _back(request, settings)
    if not (await factors_of(session, user.username)).any:
        return _back(request, settings)
    try:
        await check_current_password(request, session, store, settings, passwords, user, form)
    except WrongPassword as exc:
        return exc.answer
    except PasswordHashingBusy:
        return _busy(await _account_page(request, session, store, settings, user, error=BUSY, status_code=503))
    codes = await replace_codes(session, user.username)
    return recovery_codes_page(request, settings, codes, page_url(request, settings, "account"))


async def _signed_in_form(
    request: Request, session: AsyncSession, store: TokenStore, settings: Settings
) -> tuple[User, FormData]:
    """The signed-in user and the posted form, once its CSRF token holds; NotSignedIn without a sign-in."""
    signed_in = await signed_in_user(session, store, settings, request)
    if signed_in is None:
        raise NotSignedIn
    return signed_in[1], await checked_form(request, settings)


async def _signed_in_recently(request: Request, session: AsyncSession, store: TokenStore, settings: Settings) -> bool:
    signed_in = await signed_in_user(session, store, settings, request)
    return signed_in is not None and signed_in[0].is_recent


async def check_current_password(
    request: Request,
    session: AsyncSession,
    store: TokenStore,
    settings: Settings,
    passwords: PasswordHasher,
    user: User,
    form: FormData,
) -> None:
    """Check the form's `current_password` as a login to the user's account; WrongPassword, with
    its answer, when it is not the password or logins are paused."""
    try:
        await log_in(
            session,
            store,
            settings,
            passwords,
            username=user.username,
            password=_field(form, "current_password") or "",
            address=client_address(request),
            device=presented_device(request, settings),
            reauthentication=True,
        )
    except TooManyFailedLogins as exc:
        error = "Too many failed attempts; try again later."
        answer = await _account_page(request, session, store, settings, user, error=error, status_code=429)
        answer.headers["Retry-After"] = str(exc.retry_after)
        raise WrongPassword(answer) from None
    except EmailNotVerified:
        # The right password, of a signed-in user whose new address is not verified yet.
        return
    except LoginFailed:
        error = "Your current password is not correct."
        raise WrongPassword(
            await _account_page(request, session, store, settings, user, error=error, status_code=400)
        ) from None


def _field(form: FormData, name: str) -> str | None:
    """A field sent once, as text; None when it is absent, repeated or a file."""
    values = form.getlist(name)
    return form_text(values[0]) if len(values) == 1 else None


def _password_problem(password: str, username: str) -> str | None:
    """What is wrong with PASSWORD as the user's new one, in a fixed sentence that never repeats it."""
    if len(password) < password_policy.MIN_PASSWORD_LENGTH:
        return f"The new password needs at least {password_policy.MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The new password may have at most {MAX_PASSWORD_LENGTH} characters."
    problem = password_policy.problem(password, username)
    return None if problem is None else f"The new password cannot be used: {problem}."


def _valid_email(email: str | None) -> str | None:
    if not email or not can_hold(email) or not email.isprintable():
        return None
    try:
        email.encode()
        Profile(email=email)
    except (UnicodeEncodeError, ValidationError):
        return None
    return email


def _mail(request: Request, settings: Settings, job: Callable[[MailContext], Awaitable[list[EmailMessage]]]) -> None:
    """Hand JOB, given the mail context, to the background; nothing when the service sends no account e-mail."""
    if not settings.account_email:
        return
    context = mail_context(request, settings)
    send_later(request, lambda: job(context))


def _back(request: Request, settings: Settings, done: str | None = None) -> Response:
    """A 303 to the account page, with the notice DONE names."""
    url = page_url(request, settings, "account") + (f"?done={done}" if done else "")
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)


def _busy(response: Response) -> Response:
    response.headers["Retry-After"] = BUSY_RETRY_AFTER_SECONDS
    return response


def _sign_in_page(
    request: Request, settings: Settings, error: str | None = None, status_code: int = 200, notice: str | None = None
) -> Response:
    # The pages the login page links to, where they are served.
    context = {
        "error": error,
        "notice": notice,
        "forgot_password_url": page_url(request, settings, "forgot_password") if settings.account_email else None,
        "sign_up_url": page_url(request, settings, "sign_up") if settings.offers_sign_up else None,
        "passkeys": settings.mfa != "off",
        "upstream": start_links(request, settings, {}),
    }
    return page(request, settings, "account_sign_in.html", context, status_code)


async def _account_page(
    request: Request,
    session: AsyncSession,
    store: TokenStore,
    settings: Settings,
    user: User,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    apps = [(app, _date(app.last_used_at)) for app in await connected_apps(session, user.username)]
    context = {
        "user": user,
        "apps": apps,
        "sign_ins": await _renewed_sign_ins(session, store, user),
        "notice": notice,
        "error": error,
        "account_email": settings.account_email,
        "pending_email": await pending_email(store, user),
        "mfa": settings.mfa,
        "factors": await factors_of(session, user.username),
        "passkeys": [
            (passkey, _date(passkey.created_at), _date(passkey.last_used_at))
            for passkey in await passkeys_of(session, user.username)
        ],
        "upstream": link_actions(request, settings),
        "has_password": user.password_hash != NO_PASSWORD,
        "identities": await _linked_identities(session, settings, user) if settings.providers else [],
    }
    return page(request, settings, "account.html", context, status_code)


async def _linked_identities(session: AsyncSession, settings: Settings, user: User) -> list[LinkedIdentity]:
    """The accounts at other providers that sign the user in; a provider no longer configured by its name."""
    return [
        LinkedIdentity(
            key=identity.identity_key,
            provider=provider.display_name if (provider := settings.provider(identity.provider)) else identity.provider,
            email=identity.email,
            linked=_date(identity.linked_at),
            used=_date(identity.used_at),
        )
        for identity in await identities_of(session, user.username)
    ]


async def _renewed_sign_ins(session: AsyncSession, store: TokenStore, user: User) -> list[RenewedSignIn]:
    """The user's sign-ins that apps renew with refresh tokens, the most recently renewed first."""
    grants: list[RefreshGrant] = []
    for skipped in range(0, LOOKED_AT_SIGN_INS, LISTED_SIGN_INS):
        noted = await recent_refresh_grants(session, user.username, LISTED_SIGN_INS, skipped)
        grants += await live_grants(store, noted, user.credentials_changed_at)
        if len(noted) < LISTED_SIGN_INS or len(grants) >= LISTED_SIGN_INS:
            break
    grants = list({grant.grant_id: grant for grant in grants}.values())[:LISTED_SIGN_INS]
    names = await client_names(session, {grant.client_id for grant in grants})
    return [
        RenewedSignIn(
            grant_id=grant.grant_id,
            app=names.get(
                grant.client_id, OWN_SIGN_IN if grant.client_id == FIRST_PARTY_CLIENT_ID else grant.client_id
            ),
            client_id=grant.client_id,
            scopes=grant.scopes.split(),
            began=_date(grant.granted_at),
            renewed=_date(grant.refreshed_at),
        )
        for grant in grants
    ]


def _date(unix_seconds: int | None) -> str:
    if unix_seconds is None:
        return "never"
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d")
