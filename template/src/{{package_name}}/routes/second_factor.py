"""The second step of a sign-in, after the password: a code from the user's authenticator app or a
recovery code; or, when MFA=required and the user has no second factor, setting one up.

Both forms belong to a sign-in in waiting (web/second_factor_sign_ins.py) and go on, once done, to
the authorization request they carry, or to the account page. Failed codes are limited per
account and per address (accounts/code_attempts.py); a used recovery code is logged and the user
is told by mail.
"""

import logging

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from ..accounts import login_attempts
from ..accounts.account_emails import notice_messages
from ..accounts.authentication_methods import ONE_TIME_CODE, with_second_factor
from ..accounts.login_attempts import TooManyFailedLogins
from ..accounts.recovery_codes import replace_codes
from ..accounts.second_factors import CodeKind, SecondStep, check_code, second_step
from ..accounts.totp import bind, enrollment_of
from ..config import Settings
from ..deps import ClockDep, SecretBoxDep, SessionDep, SettingsDep, TokenStoreDep
from ..oauth.authorization_requests import AuthorizationRequest
from ..web.mail_jobs import mail_context, send_later
from ..web.pages import PAGE_HEADERS, checked_form, form_text
from ..web.second_factor_pages import code_page, enrollment_page, next_url, recovery_codes_page
from ..web.second_factor_sign_ins import count_code_attempt, finish_sign_in, waiting_sign_in

router = APIRouter(tags=["sign-in"], include_in_schema=False)
logger = logging.getLogger(__name__)

WRONG_CODE = "That code is not right, or was used already. Try the next code your app shows."
TOO_MANY = "Too many wrong codes; try again later."


@router.post("/login/second-factor", name="second_factor")
async def second_factor(
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    box: SecretBoxDep,
    clock: ClockDep,
) -> Response:
    form = await checked_form(request, settings)
    then = _then(form)
    waiting = await waiting_sign_in(session, store, settings, request)
    if waiting is None:
        return _start_over(request, settings, then)
    sign_in, user = waiting
    try:
        attempt = await count_code_attempt(request, session, store, settings, user.username)
    except TooManyFailedLogins as exc:
        answer = await code_page(request, session, settings, user, then, TOO_MANY, status.HTTP_429_TOO_MANY_REQUESTS)
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    kind = await check_code(session, box, user.username, form_text(form.get("code")) or "", clock())
    if kind is None:
        return await code_page(request, session, settings, user, then, WRONG_CODE, status.HTTP_400_BAD_REQUEST)
    await login_attempts.succeeded(store, attempt)
    if kind is CodeKind.RECOVERY:
        logger.info("A recovery code was used to sign in as %s", user.username)
        _notify(request, settings, "recovery_code_used", user.email, user.username)
    response = RedirectResponse(next_url(request, settings, then), status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)
    await finish_sign_in(store, settings, request, response, user, with_second_factor(sign_in.methods, ONE_TIME_CODE))
    return response


@router.post("/login/second-factor/enroll", name="second_factor_enroll")
async def second_factor_enroll(
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    box: SecretBoxDep,
    clock: ClockDep,
) -> Response:
    """MFA=required: the first code of the authenticator app set up on the way in."""
    form = await checked_form(request, settings)
    then = _then(form)
    waiting = await waiting_sign_in(session, store, settings, request)
    secret = None if waiting is None or waiting[0].enrollment is None else box.decrypt(waiting[0].enrollment)
    # Only for a sign-in sent to set up a first factor, never one of a user who has one meanwhile.
    if (
        waiting is None
        or secret is None
        or await second_step(session, settings, waiting[1].username) is not SecondStep.ENROLL
    ):
        return _start_over(request, settings, then)
    sign_in, user = waiting
    enrollment = enrollment_of(secret, user.username, settings.realm)
    try:
        attempt = await count_code_attempt(request, session, store, settings, user.username)
    except TooManyFailedLogins as exc:
        answer = enrollment_page(
            request, settings, enrollment, "second_factor_enroll", then, required=True, error=TOO_MANY, status_code=429
        )
        answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    if not await bind(session, box, user.username, secret, form_text(form.get("code")) or "", clock()):
        return enrollment_page(
            request,
            settings,
            enrollment,
            "second_factor_enroll",
            then,
            required=True,
            error=WRONG_CODE,
            status_code=400,
        )
    await login_attempts.succeeded(store, attempt)
    codes = await replace_codes(session, user.username)
    _notify(request, settings, "second_factor_added", user.email, user.username)
    response = recovery_codes_page(request, settings, codes, next_url(request, settings, then))
    # The app was bound just now, by whoever had the password: this sign-in has one factor still.
    await finish_sign_in(store, settings, request, response, user, sign_in.methods)
    return response


def _start_over(request: Request, settings: Settings, then: dict[str, str]) -> Response:
    """The sign-in in waiting expired or was ended (a password change, signing out): it starts over."""
    url = next_url(request, settings, then, finished=False)
    return RedirectResponse(url, status.HTTP_303_SEE_OTHER, headers=PAGE_HEADERS)


def _then(form: FormData) -> dict[str, str]:
    """The authorization request the form carries on, if any."""
    return AuthorizationRequest.from_mapping(form).params()


def _notify(request: Request, settings: Settings, name: str, to: str | None, username: str) -> None:
    if settings.account_email:
        context = mail_context(request, settings)
        send_later(request, lambda: notice_messages(context, name, to, username))
