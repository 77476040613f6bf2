"""Revoked access tokens, grants, users and connected apps, kept in the token store until the tokens
would have expired."""

import math
import time
from collections.abc import Sequence

from ..config import MAX_TOKEN_SECONDS, Settings
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from .access_tokens import AccessToken


def _token_name(token_id: str) -> str:
    return f"token:{token_id}"


def _grant_name(grant_id: str) -> str:
    return f"grant:{grant_id}"


def _user_name(username: str) -> str:
    return f"user:{username}"


def _app_name(username: str, client_id: str) -> str:
    # A digest: one size whatever the names, and no way for one pair's name to spell another's.
    return store_key("app", username, client_id)


def _withdrawal_key(username: str, client_id: str) -> str:
    return store_key("withdrawn-app", username, client_id)


# A user's revocation outlives any access token issued before it, whatever the settings were then; its
# record expires this long after it was made, which is how its time is read back from that expiry.
USER_REVOCATION_SECONDS = MAX_TOKEN_SECONDS


async def revoke_access_token(store: TokenStore, token: AccessToken, now: int, leeway_seconds: int) -> None:
    # Kept through the leeway too: verification still accepts the token that long after `exp`.
    remaining = token.expires_at + leeway_seconds - now
    if remaining > 0:
        await store.revoke(_token_name(token.token_id), remaining)


async def revoke_grant(store: TokenStore, grant_id: str, ttl_seconds: int) -> None:
    """Revoke every token of one login or authorization code: refresh and access tokens alike."""
    await store.revoke(_grant_name(grant_id), ttl_seconds)


async def grant_is_revoked(store: TokenStore, grant_id: str) -> bool:
    return bool(await store.revocations(_grant_name(grant_id)))


async def revoked_grants(store: TokenStore, grant_ids: Sequence[str]) -> set[str]:
    """Those of GRANT_IDS that are revoked, in one check."""
    if not grant_ids:
        return set()
    revoked = await store.revocations(*(_grant_name(grant_id) for grant_id in grant_ids))
    return {grant_id for grant_id in grant_ids if _grant_name(grant_id) in revoked}


async def revoke_user_tokens(store: TokenStore, username: str) -> None:
    """Revoke every access token issued to USERNAME until now, on every process and instance: after a
    password change or when the account is disabled, a stolen token must not outlive the change."""
    await store.revoke(_user_name(username), USER_REVOCATION_SECONDS)


async def revoke_app_tokens(store: TokenStore, settings: Settings, username: str, client_id: str) -> None:
    """Revoke every token CLIENT_ID holds for USERNAME, on every process and instance: the access
    tokens issued until now, and the grants (refresh tokens, authorization codes) begun until now.
    Grants begun later, after the user approves the client again, are not affected.

    Access tokens are checked by `is_revoked`, from the revocation's expiry, as a user's are. A grant
    outlives any access token, so its check reads a record of its own that holds the time itself
    (its lifetime follows the settings, so its expiry cannot tell the time)."""
    now = time.time()
    await store.put(_withdrawal_key(username, client_id), {"at": now}, grant_lifetime_seconds(settings))
    await store.revoke(_app_name(username, client_id), USER_REVOCATION_SECONDS)


async def app_grant_is_withdrawn(store: TokenStore, username: str, client_id: str, granted_at: float) -> bool:
    """Whether the user withdrew CLIENT_ID's access at or after GRANTED_AT, when the grant began."""
    withdrawn_at = await app_withdrawn_at(store, username, client_id)
    return withdrawn_at is not None and granted_at <= withdrawn_at


async def app_withdrawn_at(store: TokenStore, username: str, client_id: str) -> float | None:
    """When the user last withdrew CLIENT_ID's access, while a grant begun before could still live."""
    withdrawal = await store.get(_withdrawal_key(username, client_id))
    return None if withdrawal is None else float(withdrawal["at"])


async def is_revoked(store: TokenStore, token: AccessToken) -> bool:
    """The token, its grant, every token of its user issued until some time, or every token of its
    user and client issued until some time: one check, answered in memory where the store keeps a mirror."""
    user = _user_name(token.subject)
    app = _app_name(token.subject, token.client_id)
    names = [_token_name(token.token_id), user, app]
    if token.grant_id is not None:
        names.append(_grant_name(token.grant_id))
    revoked = await store.revocations(*names)
    for until_then in (user, app):
        if until_then in revoked:
            # Whole seconds, as `iat` is: a token issued in the second of the revocation is revoked too.
            revoked_at = math.floor(revoked.pop(until_then) - USER_REVOCATION_SECONDS)
            if token.issued_at <= revoked_at:
                return True
    return bool(revoked)


def grant_lifetime_seconds(settings: Settings) -> int:
    """How long any token of a grant can live, leeway included: revoking the grant must outlast them all."""
    access_seconds = settings.access_token_seconds + settings.leeway_seconds
    return settings.refresh_token_expire_days * 86400 + access_seconds
