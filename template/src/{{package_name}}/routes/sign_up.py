"""The sign-up page: username, e-mail address and password; served when ALLOW_REGISTRATION and
ACCOUNT_EMAIL are both on (`Settings.offers_sign_up`).

Every well-formed sign-up gets the same "check your e-mail" page. The password is hashed here, at the
same cost whatever exists; everything that depends on the database, creating the account or telling
the address that its name or address is taken, happens after the answer in a mail job
(accounts/sign_ups.py), so neither the page nor its timing tells whether an account exists. Sign-ups
count against the same limit per caller's address as /register.
"""

import functools

from fastapi import APIRouter, Request, status
from fastapi.responses import Response

from ..accounts.passwords import PasswordHashingBusy
from ..accounts.sign_ups import SIGN_UP_PATH, sign_up_messages, sign_up_problem
from ..accounts.users import MAX_EMAIL_LENGTH, MAX_USERNAME_LENGTH
from ..config import Settings
from ..deps import PasswordHasherDep, SettingsDep, TokenStoreDep, client_address
from ..errors import BUSY_RETRY_AFTER_SECONDS
from ..observability.metrics import RATE_LIMITED
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from ..web.mail_jobs import mail_context, send_later
from ..web.pages import checked_form, form_text, page

router = APIRouter(tags=["accounts"], include_in_schema=False)


@router.get(SIGN_UP_PATH, name="sign_up")
async def sign_up_form(request: Request, settings: SettingsDep) -> Response:
    return _form(request, settings)


@router.post(SIGN_UP_PATH)
async def sign_up(
    request: Request, store: TokenStoreDep, settings: SettingsDep, passwords: PasswordHasherDep
) -> Response:
    form = await checked_form(request, settings)
    username = form_text(form.get("username")) or ""
    email = (form_text(form.get("email")) or "").strip()
    password = form_text(form.get("password")) or ""
    problem = sign_up_problem(username, email, password)
    if problem is not None:
        return _form(request, settings, username, email, problem, status.HTTP_400_BAD_REQUEST)
    retry_after = await _registrations_exceeded(store, settings, request)
    if retry_after is not None:
        message = "Too many sign-ups from your network; try again later."
        response = _form(request, settings, username, email, message, status.HTTP_429_TOO_MANY_REQUESTS)
        response.headers["Retry-After"] = str(retry_after)
        return response
    try:
        password_hash = await passwords.hash(password)
    except PasswordHashingBusy:
        message = "The service is busy; try again in a moment."
        response = _form(request, settings, username, email, message, status.HTTP_503_SERVICE_UNAVAILABLE)
        response.headers["Retry-After"] = BUSY_RETRY_AFTER_SECONDS
        return response
    job = functools.partial(sign_up_messages, mail_context(request, settings), username, email, password_hash)
    send_later(request, job)
    return page(request, settings, "check_email.html", {"email": email})


async def _registrations_exceeded(store: TokenStore, settings: Settings, request: Request) -> int | None:
    """Count a sign-up from the caller's address, as /register counts one; once there were too many
    in the window, the seconds left of it."""
    key = store_key("registrations", client_address(request))
    counts = await store.increment({key: settings.registration_window_seconds})
    if counts[key] <= settings.max_registrations_per_address:
        return None
    RATE_LIMITED.labels("registrations").inc()
    # The window began at this address's first registration: only its rest is left.
    return max(await store.ttl(key), 1)


def _form(
    request: Request,
    settings: Settings,
    username: str = "",
    email: str = "",
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    # What was typed is shown again, but never the password, nor text too long or unprintable to be a name.
    context = {"username": _shown(username, MAX_USERNAME_LENGTH), "email": _shown(email, MAX_EMAIL_LENGTH)}
    return page(request, settings, "sign_up.html", {**context, "error": error}, status_code)


def _shown(value: str, limit: int) -> str:
    return value if len(value) <= limit and value.isprintable() else ""
