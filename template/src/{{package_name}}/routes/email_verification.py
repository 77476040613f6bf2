"""E-mail verification: the page a mailed link opens, whose button confirms the address; served when
ACCOUNT_EMAIL is on.

Opening the link changes nothing, since mail scanners open links too: only the form's POST spends the
token (once: the token store gives it out to one request) and marks the address verified, which is
what makes `email_verified` true (UserInfo; ID tokens carry no claims of the `email` scope).
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..accounts.account_emails import VERIFY_EMAIL_PATH
from ..accounts.account_tokens import verification_holder
from ..accounts.users import mark_email_verified
from ..deps import SessionDep, SettingsDep, TokenStoreDep
from ..web.pages import checked_form, error_page, form_text, page

router = APIRouter(tags=["accounts"], include_in_schema=False)
INVALID_LINK = "This link is not valid: it was used already, has expired, or is not for your current e-mail address."


@router.get(VERIFY_EMAIL_PATH, name="verify_email")
async def confirm_page(request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep) -> Response:
    token = form_text(request.query_params.get("token")) or ""
    user = await verification_holder(session, store, token, spend=False)
    if user is None:
        return error_page(request, INVALID_LINK)
    return page(request, settings, "verify_email.html", {"token": token, "email": user.email})


@router.post(VERIFY_EMAIL_PATH)
async def verify_email(request: Request, session: SessionDep, store: TokenStoreDep, settings: SettingsDep) -> Response:
    form = await checked_form(request, settings)
    user = await verification_holder(session, store, form_text(form.get("token")) or "", spend=True)
    if user is None or user.email is None:
        return error_page(request, INVALID_LINK)
    await mark_email_verified(session, user.username, user.email)
    return page(request, settings, "email_verified.html", {"email": user.email})
