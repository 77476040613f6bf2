"""Revoked access tokens and grants, kept in the token store until the tokens would have expired."""

from .config import Settings
from .token_store import TokenStore
from .tokens import AccessToken


def _token_name(token_id: str) -> str:
    return f"token:{token_id}"


def _grant_name(grant_id: str) -> str:
    return f"grant:{grant_id}"


async def revoke_access_token(store: TokenStore, token: AccessToken, now: int, leeway_seconds: int) -> None:
    # Kept through the leeway too: verification still accepts the token that long after `exp`.
    remaining = token.expires_at + leeway_seconds - now
    if remaining > 0:
        await store.revoke(_token_name(token.token_id), remaining)


async def revoke_grant(store: TokenStore, grant_id: str, ttl_seconds: int) -> None:
    """Revoke every token of one login or authorization code: refresh and access tokens alike."""
    await store.revoke(_grant_name(grant_id), ttl_seconds)


async def grant_is_revoked(store: TokenStore, grant_id: str) -> bool:
    return await store.any_revoked(_grant_name(grant_id))


async def is_revoked(store: TokenStore, token: AccessToken) -> bool:
    """The token or its grant: one check, answered in memory where the store keeps a mirror."""
    names = [_token_name(token.token_id)]
    if token.grant_id is not None:
        names.append(_grant_name(token.grant_id))
    return await store.any_revoked(*names)


def grant_lifetime_seconds(settings: Settings) -> int:
    """How long any token of a grant can live, leeway included: revoking the grant must outlast them all."""
    access_seconds = settings.access_token_expire_minutes * 60 + settings.leeway_seconds
    return settings.refresh_token_expire_days * 86400 + access_seconds
