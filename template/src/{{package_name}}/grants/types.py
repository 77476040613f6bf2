"""The grant types this service supports, named as RFC 6749 names them."""

from ..config import Settings

GRANT_TYPES = frozenset({"authorization_code", "client_credentials", "password", "refresh_token"})


def offered_grant_types(settings: Settings) -> frozenset[str]:
    """What the token endpoint accepts now: REFRESH_TOKEN_EXPIRE_DAYS=0 turns the refresh grant off."""
    return GRANT_TYPES if settings.refresh_tokens_enabled else GRANT_TYPES - {"refresh_token"}
