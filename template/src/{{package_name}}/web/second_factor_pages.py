"""The pages of a sign-in's second step, after the password: the code page (which offers the
user's passkeys too), and setting up an
authenticator app (when MFA requires one, and from the account page), whose QR code is drawn
here as inline SVG, so the page loads nothing and its strict CSP stays as it is."""

import segno
from fastapi import Request, Response
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.authentication_methods import MULTI_FACTOR, PASSWORD
from ..accounts.second_factors import SecondStep, factors_of, second_step
from ..accounts.totp import Enrollment, enrollment_of, new_secret
from ..app_state import app_state
from ..config import Settings
from ..oauth.authorization_requests import authorization_query
from ..storage.models import User
from ..storage.token_store import TokenStore
from .pages import page, page_url
from .password_sign_ins import begin_sign_in
from .second_factor_sign_ins import wait_for_second_factor


async def continue_sign_in(
    request: Request,
    session: AsyncSession,
    store: TokenStore,
    settings: Settings,
    user: User,
    then: dict[str, str],
    signed_in: Response,
    methods: tuple[str, ...] = (PASSWORD,),
) -> Response:
    """After USER's first factor (METHODS: a right password by default): SIGNED_IN, with the browser
    signed in, when no second step is due; else the page of that step, which goes on to THEN (an
    authorization request's parameters, or none for the account page) once it is done. METHODS that
    hold two factors already (a provider's whose MFA the operator trusts) need no second step."""
    step = SecondStep.NONE if MULTI_FACTOR in methods else await second_step(session, settings, user.username)
    box = app_state(request.app).secret_box
    if step is SecondStep.NONE:
        await begin_sign_in(store, settings, request, signed_in, user, methods)
        return signed_in
    if step is SecondStep.CODE or box is None:
        response = await code_page(request, session, settings, user, then)
        await wait_for_second_factor(store, settings, request, response, user, methods)
        return response
    # MFA=required and no factor yet: the secret is this waiting sign-in's alone.
    secret = new_secret()
    response = enrollment_page(
        request,
        settings,
        enrollment_of(secret, user.username, settings.realm),
        "second_factor_enroll",
        then,
        required=True,
    )
    await wait_for_second_factor(store, settings, request, response, user, methods, box.encrypt(secret))
    return response


async def code_page(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    user: User,
    then: dict[str, str],
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The second step's page: a code form when USER has an authenticator app (or recovery codes
    left), a passkey button when they have passkeys."""
    factors = await factors_of(session, user.username)
    codes = factors.authenticator_app or factors.recovery_codes > 0 or not factors.passkeys
    context = {"then": then, "error": error, "factors": factors, "codes": codes}
    return page(request, settings, "second_factor.html", context, status_code)


def enrollment_page(
    request: Request,
    settings: Settings,
    enrollment: Enrollment,
    action: str,
    then: dict[str, str],
    *,
    required: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    # segno writes only rectangles of the URI's modules: nothing of the URI shows as markup.
    qr_code = Markup(segno.make(enrollment.uri, error="m").svg_inline(scale=4))  # noqa: S704
    context = {
        "secret": enrollment.secret,
        "uri": enrollment.uri,
        "qr_code": qr_code,
        "action": action,
        "then": then,
        "required": required,
        "error": error,
    }
    return page(request, settings, "totp_setup.html", context, status_code)


def recovery_codes_page(request: Request, settings: Settings, codes: list[str], continue_url: str) -> Response:
    """The new recovery codes, shown this once, and a link on to CONTINUE_URL."""
    return page(request, settings, "recovery_codes.html", {"codes": codes, "next_url": continue_url})


def next_url(request: Request, settings: Settings, then: dict[str, str], *, finished: bool = True) -> str:
    """Where a sign-in goes on: the authorization request THEN holds, or the account page (which
    says the browser is signed in when it FINISHED; else it shows the sign-in form again)."""
    if "client_id" in then:
        return f"{page_url(request, settings, 'authorize')}?{authorization_query(then)}"
    return page_url(request, settings, "account") + ("?done=signed-in" if finished else "")
