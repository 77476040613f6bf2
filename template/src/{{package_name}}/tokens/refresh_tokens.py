"""Refresh tokens (RFC 6749 §6): opaque, 256 random bits, stored hashed, rotated on every use.

A rotated token presented again means it leaked: the whole grant is revoked (RFC 9700 §4.14.2).
Except within a grace period of its first use, by the client it was issued to: that is a client
retrying, or two of its tabs refreshing at once, and it gets a token pair too. The period is
REFRESH_TOKEN_REUSE_GRACE_SECONDS for a confidential client, whose secret a thief would need as well,
and PUBLIC_CLIENT_REFRESH_GRACE_SECONDS (none by default) for a public one.

A token used within the grace period forks its chain, and an honest client goes on with one branch
and drops the others. Each token records the one it replaced, so when a second branch is used, the
fork was a thief's and the owner's, and the whole grant is revoked: a stolen token never starts a
chain that lives beside its owner's.
"""

import secrets
import time
from typing import Any

from ..audit import trail as audit
from ..config import Settings
from ..errors import InvalidGrant
from ..observability.metrics import REFRESH_TOKEN_REUSE
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from .revocation import grant_lifetime_seconds, revoke_grant


def _key(token: str) -> str:
    return store_key("refresh", token)


async def issue_refresh_token(
    store: TokenStore,
    settings: Settings,
    *,
    grant_id: str,
    client_id: str,
    subject: str,
    scopes: frozenset[str],
    auth_time: int,
    methods: tuple[str, ...],
    granted_at: float,
    replaces: str | None = None,
    resources: tuple[str, ...] = (),
) -> str:
    """A new refresh token; REPLACES is the `token_id` of the one it was rotated from. GRANTED_AT is
    when the grant began (the user's approval, or the password login), which rotation carries over."""
    token = secrets.token_urlsafe(32)
    record = {
        "grant_id": grant_id,
        "client_id": client_id,
        "subject": subject,
        "scopes": sorted(scopes),
        "auth_time": auth_time,
        "amr": list(methods),
        "granted_at": granted_at,
        "replaces": replaces,
        # RFC 8707: the resources granted; its refreshes may ask for fewer, never for more.
        "resources": list(resources),
    }
    await store.put(_key(token), record, settings.refresh_token_expire_days * 86400)
    return token


async def find_refresh_token(store: TokenStore, token: str) -> dict[str, Any] | None:
    """The record of an active (unused, unexpired) refresh token."""
    return await store.get(_key(token))


def token_id(token: str) -> str:
    """What names a refresh token in the records of the tokens rotated from it: a digest, never the token."""
    return _key(token).removeprefix("refresh:")


async def use_refresh_token(
    store: TokenStore, settings: Settings, token: str, holder: str, grace_seconds: int
) -> dict[str, Any]:
    """Spend the token and return its record: at its first use, or again by `holder` within
    GRACE_SECONDS. Any other use revokes the grant, and so does the first use of a second branch
    of a fork."""
    claimed = await store.claim(_key(token))
    if claimed is None:
        raise InvalidGrant("The refresh token is invalid or has expired")
    record, used_before = claimed
    if used_before is not None:
        in_grace = time.time() - used_before < grace_seconds
        if not (in_grace and record["client_id"] == holder):
            await revoke_grant(store, record["grant_id"], grant_lifetime_seconds(settings))
            _reuse_detected(record, holder, "used_again")
            raise InvalidGrant("The refresh token was already used; the grant is revoked")
    elif record.get("replaces") is not None:
        branches = store_key("refresh-branches", record["replaces"])
        lifetime = settings.refresh_token_expire_days * 86400
        if (await store.increment({branches: lifetime}))[branches] > 1:
            await revoke_grant(store, record["grant_id"], grant_lifetime_seconds(settings))
            _reuse_detected(record, holder, "second_branch")
            raise InvalidGrant("Another branch of this grant is in use; the grant is revoked")
    return record


def _reuse_detected(record: dict[str, Any], holder: str, how: str) -> None:
    REFRESH_TOKEN_REUSE.inc()
    audit.record(
        "refresh_token.reused",
        outcome="failure",
        actor=audit.client(holder) if holder else None,
        subject=record["subject"],
        client_id=record["client_id"],
        detail={"how": how, "grant_revoked": True},
    )


async def revoke_refresh_token(store: TokenStore, settings: Settings, token: str) -> dict[str, Any] | None:
    """Revoke the grant of an active refresh token; its record, or None if there is no such token."""
    record = await find_refresh_token(store, token)
    if record is not None:
        await revoke_grant(store, record["grant_id"], grant_lifetime_seconds(settings))
    return record
