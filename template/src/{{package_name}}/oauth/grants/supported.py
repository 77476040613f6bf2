"""The grants this service runs, each under the grant_type that names it (RFC 6749): the one list."""

from collections.abc import Awaitable, Callable

from ...config import Settings
from . import Context, Grant, TokenRequest, authorization_code, client_credentials, password, refresh_token

Exchange = Callable[[TokenRequest, Context], Awaitable[Grant]]

EXCHANGES: dict[str, Exchange] = {
    grant.GRANT_TYPE: grant.exchange for grant in (authorization_code, client_credentials, password, refresh_token)
}
GRANT_TYPES = frozenset(EXCHANGES)


def offered_grant_types(settings: Settings) -> frozenset[str]:
    """What the token endpoint accepts now: REFRESH_TOKEN_EXPIRE_DAYS=0 turns the refresh grant off."""
    return GRANT_TYPES if settings.refresh_tokens_enabled else GRANT_TYPES - {refresh_token.GRANT_TYPE}
