"""E-mail verification: the page a mailed link opens, whose button confirms the address; served when
ACCOUNT_EMAIL is on.

Opening the link changes nothing, since mail scanners open links too: only the form's POST spends the
token (once: the token store gives it out to one request) and does what the link was mailed for
(accounts/email_confirmations.py): marks the address verified, which is what makes `email_verified`
true (UserInfo; ID tokens carry no claims of the `email` scope), applies a change of address, or
creates the account a sign-up asked for.
"""

import functools

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..accounts.account_emails import VERIFY_EMAIL_PATH, notice_messages
from ..accounts.email_confirmations import Outcome, address_to_confirm, confirm_email
from ..deps import SessionDep, SettingsDep, TokenStoreDep
from ..web.mail_jobs import mail_context, send_later
from ..web.pages import checked_form, error_page, form_text, page, page_url

router = APIRouter(tags=["accounts"], include_in_schema=False)
INVALID_LINK = "This link is not valid: it was used already, has expired, or is not for your current e-mail address."
USERNAME_TAKEN = (
    "Someone took the username {username} before you confirmed, so no account was made: "
    "choose another username and sign up again."
)


@router.get(VERIFY_EMAIL_PATH, name="verify_email")
async def confirm_page(request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep) -> Response:
    token = form_text(request.query_params.get("token")) or ""
    email = await address_to_confirm(session, store, token)
    if email is None:
        return error_page(request, INVALID_LINK)
    return page(request, settings, "verify_email.html", {"token": token, "email": email})


@router.post(VERIFY_EMAIL_PATH)
async def verify_email(request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep) -> Response:
    form = await checked_form(request, settings)
    confirmation = await confirm_email(session, store, form_text(form.get("token")) or "")
    if confirmation.outcome is Outcome.INVALID:
        return error_page(request, INVALID_LINK)
    if confirmation.outcome is Outcome.USERNAME_TAKEN:
        return error_page(request, USERNAME_TAKEN.format(username=confirmation.username))
    if confirmation.outcome is Outcome.CHANGED:
        # The old address hears of the change, in case it was not its owner's doing.
        job = functools.partial(
            notice_messages,
            mail_context(request, settings),
            "email_changed",
            confirmation.replaced_email,
            confirmation.username,
        )
        send_later(request, job)
    context = {
        "email": confirmation.email,
        "account_ready": confirmation.outcome is Outcome.CREATED,
        "sign_in_url": page_url(request, settings, "account"),
    }
    return page(request, settings, "email_verified.html", context)
