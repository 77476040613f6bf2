"""Password reset by e-mail (OWASP Forgot Password Cheat Sheet), mounted only when ACCOUNT_EMAIL is true.

`/forgot-password` answers the same page, with the same status and in the same time, whatever it is
given: the lookup and the mail are a background job (web/mail_jobs.py), so nothing in the answer
tells whether an account exists. Each caller address may ask MAX_ACCOUNT_EMAILS_PER_ADDRESS times
per ACCOUNT_EMAIL_WINDOW_SECONDS; each account gets at most MAX_ACCOUNT_EMAILS_PER_ACCOUNT links
(accounts/account_emails.py). `/reset-password` takes the mailed single-use token and a new password.
"""

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from pydantic import ValidationError

from ..accounts.account_changes import reset_password as reset_with_token
from ..accounts.account_changes import reset_second_factors
from ..accounts.account_emails import ACCOUNT_PATH, notice_messages, reset_messages
from ..accounts.account_tokens import reset_holder
from ..accounts.password_policy import MIN_PASSWORD_LENGTH
from ..accounts.passwords import MAX_PASSWORD_LENGTH
from ..accounts.second_factors import factors_of
from ..accounts.users import MAX_EMAIL_LENGTH, MAX_USERNAME_LENGTH, NewUser
from ..config import Settings, issuer_of
from ..deps import PasswordHasherDep, SessionDep, SettingsDep, TokenStoreDep, client_address
from ..federation.identities import unlink_all
from ..observability.metrics import RATE_LIMITED
from ..storage.database import can_hold
from ..storage.record_keys import store_key
from ..web.mail_jobs import mail_context, send_later
from ..web.pages import checked_form, error_page, form_text, page

router = APIRouter(tags=["accounts"], include_in_schema=False)

# Longer than any username or address: no account can match, so no job is worth handing over.
MAX_LOGIN_LENGTH = max(MAX_USERNAME_LENGTH, MAX_EMAIL_LENGTH)
INVALID_LINK = "This link is invalid or has expired."


@router.get("/forgot-password", name="forgot_password")
async def forgot_password_form(request: Request, settings: SettingsDep) -> Response:
    return page(request, settings, "forgot_password.html", {})


@router.post("/forgot-password")
async def forgot_password(request: Request, store: TokenStoreDep, settings: SettingsDep) -> Response:
    form = await checked_form(request, settings)
    key = store_key("account-email-requests", client_address(request))
    counts = await store.increment({key: settings.account_email_window_seconds})
    if counts[key] > settings.max_account_emails_per_address:
        RATE_LIMITED.labels("account_emails").inc()
        response = error_page(
            request, "Too many requests from this address; try again later.", status.HTTP_429_TOO_MANY_REQUESTS
        )
        # The window began at this address's first request: only its rest is left.
        response.headers["Retry-After"] = str(max(await store.ttl(key), 1))
        return response
    # Neither a name nor an address holds spaces: those around it were typed or pasted by mistake.
    login = (form_text(form.get("login")) or "").strip()
    if login and len(login) <= MAX_LOGIN_LENGTH and can_hold(login):
        mail = mail_context(request, settings)
        send_later(request, lambda: reset_messages(mail, login))
    return page(request, settings, "reset_requested.html", {"minutes": settings.reset_token_minutes})


@router.get("/reset-password", name="reset_password")
async def reset_password_form(
    request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep
) -> Response:
    token = form_text(request.query_params.get("token")) or ""
    # Only looked at here: following the link twice (a mail scanner first, say) must not use it up.
    if await reset_holder(session, store, token, spend=False) is None:
        return _invalid_link_page(request, settings)
    return page(request, settings, "reset_password.html", {"token": token, "error": None})


@router.post("/reset-password")
async def reset_password(
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    passwords: PasswordHasherDep,
) -> Response:
    form = await checked_form(request, settings)
    token = form_text(form.get("token")) or ""
    password = form_text(form.get("password")) or ""
    holder = await reset_holder(session, store, token, spend=False)
    if holder is None:
        return _invalid_link_page(request, settings)
    # The rules are checked before the token is spent, so that a refused password does not use up the link.
    if (problem := _password_problem(holder.username, password)) is not None:
        context = {"token": token, "error": problem}
        return page(request, settings, "reset_password.html", context, status.HTTP_400_BAD_REQUEST)
    # Whoever holds the address now holds the account, and may not be whoever set up its ways in: an
    # account can be made in another's name through a provider that vouches for addresses too easily.
    # Its providers go before the password changes, so that no sign-in through one outlives the reset;
    # its second factors too where this service never verified the address.
    unproven = not holder.email_verified
    await unlink_all(session, holder.username)
    # Of concurrent submissions, one spends the token; the others find it used.
    user = await reset_with_token(session, store, passwords, token, password)
    if user is None:
        return _invalid_link_page(request, settings)
    if unproven and (await factors_of(session, user.username)).any:
        await reset_second_factors(session, store, user.username)
    mail = mail_context(request, settings)
    send_later(request, lambda: notice_messages(mail, "password_changed", user.email, user.username))
    # Not signed in by the reset (OWASP Forgot Password Cheat Sheet): whoever holds the link signs in
    # with the new password like anyone else, with the same limits on failed logins.
    account_url = issuer_of(request, settings) + ACCOUNT_PATH
    return page(request, settings, "password_reset_done.html", {"account_url": account_url})


def _invalid_link_page(request: Request, settings: Settings) -> Response:
    return page(request, settings, "reset_link_invalid.html", {"message": INVALID_LINK}, status.HTTP_400_BAD_REQUEST)


def _password_problem(username: str, password: str) -> str | None:
    """Why PASSWORD cannot be USERNAME's new one, in a sentence; None when it can (the rules of every account)."""
    try:
        NewUser(username=username, password=password)
    except ValidationError as exc:
        error = exc.errors()[0]
        if error["type"] == "string_too_short":
            return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
        if error["type"] == "string_too_long":
            return f"The password must have at most {MAX_PASSWORD_LENGTH:,} characters."
        message = str(error["msg"]).removeprefix("Value error, ")
        return message[:1].upper() + message[1:] + "."
    return None
