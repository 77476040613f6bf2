"""Passkeys (WebAuthn): signing in with one instead of a password, giving one as a sign-in's second
factor, and adding one on the account page; and the one script that runs the browser's side.

Each ceremony is two JSON requests from that script (web/static/passkeys.js): its options, whose
challenge the browser's ceremony cookie holds (web/passkey_ceremonies.py), then the authenticator's
answer, answered with where the browser goes next. Every request carries the page's CSRF token
and a bounded JSON body (web/json_bodies.py); what does not hold is a 4xx with a fixed sentence.
A passkey that signs in on its own must have verified its user (a PIN or a biometric): two
factors, `acr` aal2. Failed assertions count toward the limits on codes (accounts/code_attempts.py):
per address for a sign-in, per account and address for a second factor.
"""

import dataclasses
import logging
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import FileResponse, Response
from starlette.datastructures import ImmutableMultiDict

from ..accounts import code_attempts, login_attempts
from ..accounts.account_emails import notice_messages
from ..accounts.authentication_methods import with_second_factor, with_verified_passkey
from ..accounts.device_cookies import presented_device, remember_device
from ..accounts.login_attempts import TooManyFailedLogins
from ..accounts.logins import EmailNotVerified, LoginFailed, log_in, must_confirm_email
from ..accounts.passkeys import (
    MAX_PASSKEYS,
    PasskeyRefused,
    RelyingParty,
    authenticate,
    authentication_options,
    passkey_name,
    passkeys_of,
    register,
    registration_options,
    relying_party,
)
from ..accounts.passwords import PasswordHashingBusy
from ..accounts.users import get_user
from ..config import Settings, issuer_of
from ..deps import PasswordHasherDep, SessionDep, SettingsDep, TokenStoreDep, client_address
from ..errors import BUSY_RETRY_AFTER_SECONDS
from ..oauth.authorization_requests import AuthorizationRequest
from ..web.json_bodies import BadBody, checked_json, json_answer, refused
from ..web.mail_jobs import mail_context, send_later
from ..web.pages import PAGE_HEADERS, SCRIPTS, page_url
from ..web.passkey_ceremonies import REGISTRATION, SECOND_FACTOR, SIGN_IN, Ceremony, begin_ceremony, take_ceremony
from ..web.second_factor_pages import next_url
from ..web.second_factor_sign_ins import count_code_attempt, finish_sign_in, waiting_sign_in
from ..web.sign_ins import signed_in_user, start_sign_in

router = APIRouter(tags=["passkeys"], include_in_schema=False)
logger = logging.getLogger(__name__)

NOT_ACCEPTED = "That passkey was not accepted. Try again, or sign in another way."
EXPIRED = "This sign-in has expired. Reload the page and try again."
TOO_MANY = "Too many failed attempts; try again later."
NOT_SIGNED_IN = "Sign in first."
# A day: the script changes only with the service, and its URL is the same for every page.
SCRIPT_CACHE = "public, max-age=86400"


@router.get("/static/passkeys.js", name="passkeys_script")
async def passkeys_script() -> Response:
    return FileResponse(
        SCRIPTS / "passkeys.js", media_type="text/javascript; charset=utf-8", headers={"Cache-Control": SCRIPT_CACHE}
    )


# Signing in with a passkey alone


@router.post("/login/passkey/options", name="passkey_sign_in_options")
async def passkey_sign_in_options(request: Request, store: TokenStoreDep, settings: SettingsDep) -> Response:
    """Options for any passkey of this service the browser's authenticators hold: no username asked."""
    try:
        await checked_json(request, settings)
    except BadBody as exc:
        return refused(exc)
    options, challenge = authentication_options(_relying_party(request, settings), [], require_user_verification=True)
    response = _options_answer(options)
    await begin_ceremony(store, settings, request, response, Ceremony(SIGN_IN, None, challenge))
    return response


@router.post("/login/passkey", name="passkey_sign_in")
async def passkey_sign_in(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep
) -> Response:
    try:
        body = await checked_json(request, settings)
        attempt = await code_attempts.begin_from_address(store, settings, client_address(request))
    except BadBody as exc:
        return refused(exc)
    except TooManyFailedLogins as exc:
        return _too_many(exc)
    ceremony = await take_ceremony(store, settings, request, SIGN_IN, None)
    credential = body.get("credential")
    if ceremony is None or not isinstance(credential, dict):
        return json_answer({"error": EXPIRED}, status.HTTP_400_BAD_REQUEST)
    rp = _relying_party(request, settings)
    try:
        used = await authenticate(
            session, rp, credential, ceremony.challenge, username=None, require_user_verification=True
        )
    except PasskeyRefused as exc:
        logger.info("A passkey sign-in was refused: %s", exc)
        return json_answer({"error": NOT_ACCEPTED}, status.HTTP_400_BAD_REQUEST)
    user = await get_user(session, used.username)
    if user is None or user.disabled:
        return json_answer({"error": NOT_ACCEPTED}, status.HTTP_400_BAD_REQUEST)
    await code_attempts.held_from_address(store, attempt)
    if must_confirm_email(settings, user):
        return json_answer({"error": "Confirm your e-mail address first."}, status.HTTP_403_FORBIDDEN)
    response = json_answer({"next": next_url(request, settings, _then_after_sign_in(body))})
    methods = with_verified_passkey(used.method)
    after_change = user.credentials_changed_at
    await start_sign_in(store, settings, request, response, user.username, after_change=after_change, methods=methods)
    await remember_device(store, settings, request, response, user)
    return response


# A passkey as the second factor, after the password


@router.post("/login/second-factor/passkey/options", name="second_factor_passkey_options")
async def second_factor_passkey_options(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep
) -> Response:
    try:
        await checked_json(request, settings)
    except BadBody as exc:
        return refused(exc)
    waiting = await waiting_sign_in(session, store, settings, request)
    passkeys = [] if waiting is None else await passkeys_of(session, waiting[1].username)
    if waiting is None or not passkeys:
        return json_answer({"error": EXPIRED}, status.HTTP_400_BAD_REQUEST)
    rp = _relying_party(request, settings)
    options, challenge = authentication_options(rp, passkeys, require_user_verification=False)
    response = _options_answer(options)
    await begin_ceremony(store, settings, request, response, Ceremony(SECOND_FACTOR, waiting[1].username, challenge))
    return response


@router.post("/login/second-factor/passkey", name="second_factor_passkey")
async def second_factor_passkey(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep
) -> Response:
    try:
        body = await checked_json(request, settings)
    except BadBody as exc:
        return refused(exc)
    waiting = await waiting_sign_in(session, store, settings, request)
    if waiting is None:
        return json_answer({"error": EXPIRED}, status.HTTP_400_BAD_REQUEST)
    sign_in, user = waiting
    try:
        attempt = await count_code_attempt(request, session, store, settings, user.username)
    except TooManyFailedLogins as exc:
        return _too_many(exc)
    ceremony = await take_ceremony(store, settings, request, SECOND_FACTOR, user.username)
    credential = body.get("credential")
    if ceremony is None or not isinstance(credential, dict):
        return json_answer({"error": EXPIRED}, status.HTTP_400_BAD_REQUEST)
    rp = _relying_party(request, settings)
    try:
        used = await authenticate(
            session, rp, credential, ceremony.challenge, username=user.username, require_user_verification=False
        )
    except PasskeyRefused as exc:
        logger.info("A passkey was refused as the second factor of %s: %s", user.username, exc)
        return json_answer({"error": NOT_ACCEPTED}, status.HTTP_400_BAD_REQUEST)
    await login_attempts.succeeded(store, attempt)
    response = json_answer({"next": next_url(request, settings, _then(body))})
    await finish_sign_in(store, settings, request, response, user, with_second_factor(sign_in.methods, used.method))
    return response


# Adding a passkey on the account page (removing one is a plain form of routes/account.py)


@router.post("/account/passkeys/options", name="account_passkey_options")
async def account_passkey_options(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep, passwords: PasswordHasherDep
) -> Response:
    """A registration's options, once the current password is given: a passkey signs in on its own and
    outlives a password change, so a stolen sign-in alone must not be able to add one."""
    try:
        body = await checked_json(request, settings)
    except BadBody as exc:
        return refused(exc)
    signed_in = await signed_in_user(session, store, settings, request)
    if signed_in is None:
        return json_answer({"error": NOT_SIGNED_IN}, status.HTTP_403_FORBIDDEN)
    user = signed_in[1]
    try:
        await log_in(
            session,
            store,
            settings,
            passwords,
            username=user.username,
            password=_fields(body).get("current_password") or "",
            address=client_address(request),
            device=presented_device(request, settings),
            reauthentication=True,
        )
    except TooManyFailedLogins as exc:
        return _too_many(exc)
    except EmailNotVerified:
        pass  # the right password, of a signed-in user whose new address is not confirmed yet
    except LoginFailed:
        return json_answer({"error": "Your current password is not correct."}, status.HTTP_400_BAD_REQUEST)
    except PasswordHashingBusy:
        answer = json_answer({"error": "The service is busy; try again in a moment."}, 503)
        answer.headers["Retry-After"] = BUSY_RETRY_AFTER_SECONDS
        return answer
    existing = await passkeys_of(session, user.username)
    if len(existing) >= MAX_PASSKEYS:
        error = f"An account may have {MAX_PASSKEYS} passkeys; remove one first."
        return json_answer({"error": error}, status.HTTP_400_BAD_REQUEST)
    options, challenge = registration_options(_relying_party(request, settings), user, existing)
    response = _options_answer(options)
    await begin_ceremony(store, settings, request, response, Ceremony(REGISTRATION, user.username, challenge))
    return response


@router.post("/account/passkeys", name="account_passkeys")
async def account_passkeys(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep
) -> Response:
    try:
        body = await checked_json(request, settings)
    except BadBody as exc:
        return refused(exc)
    signed_in = await signed_in_user(session, store, settings, request)
    if signed_in is None:
        return json_answer({"error": NOT_SIGNED_IN}, status.HTTP_403_FORBIDDEN)
    user = signed_in[1]
    ceremony = await take_ceremony(store, settings, request, REGISTRATION, user.username)
    credential = body.get("credential")
    if ceremony is None or not isinstance(credential, dict):
        return json_answer({"error": EXPIRED}, status.HTTP_400_BAD_REQUEST)
    name = passkey_name(_fields(body).get("name"))
    try:
        await register(session, _relying_party(request, settings), user.username, credential, ceremony.challenge, name)
    except PasskeyRefused as exc:
        logger.info("A passkey of %s was not added: %s", user.username, exc)
        return json_answer({"error": "That passkey could not be added."}, status.HTTP_400_BAD_REQUEST)
    logger.info("A passkey was added to the account %s", user.username)
    if settings.account_email:
        context, address, username = mail_context(request, settings), user.email, user.username
        send_later(request, lambda: notice_messages(context, "passkey_added", address, username))
    return json_answer({"next": page_url(request, settings, "account") + "?done=passkey-added"})


def _relying_party(request: Request, settings: Settings) -> RelyingParty:
    return relying_party(issuer_of(request, settings), settings.realm)


def _options_answer(options: str) -> Response:
    return Response(options, media_type="application/json", headers=PAGE_HEADERS)


def _too_many(exc: TooManyFailedLogins) -> Response:
    answer = json_answer({"error": TOO_MANY}, status.HTTP_429_TOO_MANY_REQUESTS)
    answer.headers["Retry-After"] = str(exc.retry_after)
    return answer


def _fields(body: dict[str, Any]) -> ImmutableMultiDict[str, str]:
    """The fields of the page's form the script sent along (an authorization request's, a name)."""
    fields = body.get("fields")
    if not isinstance(fields, dict):
        return ImmutableMultiDict()
    return ImmutableMultiDict({name: value for name, value in fields.items() if isinstance(value, str)})


def _then(body: dict[str, Any]) -> dict[str, str]:
    """The authorization request a sign-in's second step carries on, if any."""
    return AuthorizationRequest.from_mapping(_fields(body)).params()


def _then_after_sign_in(body: dict[str, Any]) -> dict[str, str]:
    """The login page's authorization request, now that the user signed in: `id_token_hint` stays,
    for the authorization endpoint to check against whoever the passkey signed in."""
    auth = AuthorizationRequest.from_mapping(_fields(body))
    return dataclasses.replace(auth.after_login(), id_token_hint=auth.id_token_hint).params()
