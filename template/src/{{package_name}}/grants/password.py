"""The resource owner password credentials grant (RFC 6749 §4.3).

For first-party clients only (RFC 9700 §2.4): the client sees the user's password.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import TokenEndpointError
from ..users import authenticate

GRANT_TYPE = "password"
# The client_id claim of tokens issued to the service's own front end.
FIRST_PARTY_CLIENT_ID = "first-party"


async def grant_password(
    session: AsyncSession, *, username: str | None, password: str | None, scope: str | None
) -> tuple[str, frozenset[str]]:
    """Authenticate the user and settle the granted scopes: (subject, scopes)."""
    if not username or password is None:
        raise TokenEndpointError("invalid_request", "username and password are required")
    user = await authenticate(session, username, password)
    if user is None:
        raise TokenEndpointError("invalid_grant", "Incorrect username or password")
    if scope is None:
        return user.username, user.allowed_scopes
    requested = frozenset(scope.split())
    if not requested <= user.allowed_scopes:
        unknown = " ".join(sorted(requested - user.allowed_scopes))
        raise TokenEndpointError("invalid_scope", f"Scope not allowed for this user: {unknown}")
    return user.username, requested
