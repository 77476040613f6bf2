"""The resource owner password credentials grant (RFC 6749 §4.3).

For first-party clients only (RFC 9700 §2.4): the client sees the user's password. Failed
logins are counted per username, so guessing a password is slowed down.
"""

from fastapi import status
from sqlalchemy.ext.asyncio import AsyncSession

from ..config import Settings
from ..errors import TokenEndpointError
from ..token_store import TokenStore
from ..users import authenticate

GRANT_TYPE = "password"
# The client_id claim of tokens issued to the service's own front end.
FIRST_PARTY_CLIENT_ID = "first-party"


async def grant_password(
    session: AsyncSession,
    store: TokenStore,
    settings: Settings,
    *,
    username: str | None,
    password: str | None,
    scope: str | None,
) -> tuple[str, frozenset[str]]:
    """Authenticate the user and settle the granted scopes: (subject, scopes)."""
    if not username or password is None:
        raise TokenEndpointError("invalid_request", "username and password are required")
    # Counted by name whether or not the user exists, so lockouts reveal nothing either.
    failures_key = f"failed-logins:{username}"
    if await store.count(failures_key) >= settings.max_failed_logins:
        raise TokenEndpointError(
            "temporarily_unavailable",
            "Too many failed logins for this user; try again later",
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(settings.failed_login_window_seconds)},
        )
    user = await authenticate(session, username, password)
    if user is None:
        await store.increment(failures_key, settings.failed_login_window_seconds)
        raise TokenEndpointError("invalid_grant", "Incorrect username or password")
    await store.reset(failures_key)
    if scope is None:
        return user.username, user.allowed_scopes
    requested = frozenset(scope.split())
    if not requested <= user.allowed_scopes:
        unknown = " ".join(sorted(requested - user.allowed_scopes))
        raise TokenEndpointError("invalid_scope", f"Scope not allowed for this user: {unknown}")
    return user.username, requested
