"""The resource owner password credentials grant (RFC 6749 §4.3).

For first-party clients only (RFC 9700 §2.4): the client sees the user's password. In development
it works without a registered client (the client-less first-party flow); in production it needs a
confidential client registered for it, unless REQUIRE_CLIENT_FOR_PASSWORD_GRANT says otherwise.
Failed logins are limited as `login_attempts` describes. An account with a second factor (or one
that MFA=required asks to set one up) gets no token here: the authorization endpoint asks for it.
"""

import secrets
import time

from ...accounts.login_attempts import TooManyFailedLogins
from ...accounts.logins import EmailNotVerified, LoginFailed, log_in
from ...accounts.second_factors import SecondStep, second_step
from ...errors import InvalidClient, InvalidGrant, InvalidRequest, TooManyAttempts
from ..resource_indicators import grantable_by_user, settle_scopes
from . import FIRST_PARTY_CLIENT_ID, Context, Grant, TokenRequest, requested_targets, require_grant_type

GRANT_TYPE = "password"


async def exchange(request: TokenRequest, context: Context) -> Grant:
    if not request.form.username or request.form.password is None:
        raise InvalidRequest("username and password are required")
    if request.client is None and context.settings.password_grant_needs_client:
        raise InvalidClient("The password grant needs a registered client here")
    if request.client is not None:
        require_grant_type(request.client, GRANT_TYPE)
    # Before the password is checked: a request that names no usable resource costs no hash.
    targets = await requested_targets(request, context)
    try:
        user = await log_in(
            context.session,
            context.store,
            context.settings,
            context.passwords,
            username=request.form.username,
            password=request.form.password,
            address=request.client_address,
        )
    except TooManyFailedLogins as exc:
        raise TooManyAttempts(exc.retry_after) from None
    except EmailNotVerified:
        raise InvalidGrant("The account's e-mail address is not verified yet; follow the link mailed to it") from None
    except LoginFailed:
        raise InvalidGrant("Incorrect username or password") from None
    if await second_step(context.session, context.settings, user.username) is not SecondStep.NONE:
        # Never a token on the password alone for an account that has (or must set up) a second factor.
        raise InvalidGrant("This account signs in with a second factor, which the password grant cannot ask for")
    # The first-party client may have any scope; a registered one those it was registered for.
    offered = user.allowed_scopes if request.client is None else request.client.allowed_scopes
    allowed = grantable_by_user(offered, user.allowed_scopes)
    return Grant(
        subject=user.username,
        client_id=FIRST_PARTY_CLIENT_ID if request.client is None else request.client.client_id,
        scopes=settle_scopes(request.form.scope, allowed, targets),
        grant_id=secrets.token_urlsafe(16),
        auth_time=int(time.time()),
        granted_at=time.time(),
        refreshable=request.client is None or "refresh_token" in request.client.allowed_grant_types,
        targets=targets,
        granted_resources=tuple(target.uri for target in targets),
    )
