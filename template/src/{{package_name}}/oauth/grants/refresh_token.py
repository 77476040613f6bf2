"""The refresh token grant (RFC 6749 §6), with rotation on every use (RFC 9700 §4.14.2)."""

from typing import Any

from ...accounts.profiles import IDENTITY_SCOPES
from ...accounts.users import grant_holder
from ...errors import InvalidClient, InvalidGrant, InvalidRequest
from ...storage.models import Client
from ...tokens.refresh_tokens import find_refresh_token, token_id, use_refresh_token
from ...tokens.revocation import app_grant_is_withdrawn, grant_is_revoked
from ..resource_indicators import grantable_by_user, settle_scopes
from . import (
    FIRST_PARTY_CLIENT_ID,
    Context,
    Grant,
    TokenRequest,
    granted_resources,
    granted_targets,
    recorded_methods,
    require_grant_type,
)

GRANT_TYPE = "refresh_token"


async def exchange(request: TokenRequest, context: Context) -> Grant:
    if not request.form.refresh_token:
        raise InvalidRequest("refresh_token is required")
    if request.client is not None:
        require_grant_type(request.client, GRANT_TYPE)
    holder = FIRST_PARTY_CLIENT_ID if request.client is None else request.client.client_id
    # Checked before the token is spent, so a request that fails here leaves it usable (RFC 6749
    # §6 rotates only when new tokens are issued). The grant's revocation is checked first too:
    # the concurrent uses that lose the race to the token may revoke it a moment later, and must
    # not turn the use that won into a failure.
    unused = await find_refresh_token(context.store, request.form.refresh_token)
    if unused is not None:
        _check_holder(unused, request.client, holder)
        unused_targets = await granted_targets(request, context, unused)
        settle_scopes(request.form.scope, _still_allowed(unused, request.client), unused_targets, renewing=True)
        await _check_grant(context, unused)
    settings = context.settings
    confidential = request.client is not None and not request.client.is_public
    grace = settings.refresh_token_reuse_grace_seconds if confidential else settings.public_client_refresh_grace_seconds
    record = await use_refresh_token(context.store, settings, request.form.refresh_token, holder, grace)
    if unused is None:
        # Used before, by this client, within the grace period.
        await _check_grant(context, record)
    user = await grant_holder(context.session, record)
    if user is None:
        raise InvalidGrant("The user can no longer use this grant")
    # What the grant gave that the client and the user may still have: an operator may have taken a scope away.
    granted = grantable_by_user(_still_allowed(record, request.client), user.allowed_scopes | IDENTITY_SCOPES)
    targets = await granted_targets(request, context, record)
    return Grant(
        subject=user.username,
        client_id=holder,
        scopes=settle_scopes(request.form.scope, granted, targets, renewing=True),
        grant_id=record["grant_id"],
        auth_time=record["auth_time"],
        methods=recorded_methods(record),
        granted_at=_granted_at(record),
        refreshable=True,
        granted_scopes=granted,
        refreshed_from=token_id(request.form.refresh_token),
        targets=targets,
        granted_resources=granted_resources(record, context.own_api),
    )


def _check_holder(record: dict[str, Any], client: Client | None, holder: str) -> None:
    if record["client_id"] != holder:
        if client is None:
            raise InvalidClient()
        raise InvalidGrant("The refresh token was issued to another client")


async def _check_grant(context: Context, record: dict[str, Any]) -> None:
    if await grant_is_revoked(context.store, record["grant_id"]):
        raise InvalidGrant("The grant has been revoked")
    if await app_grant_is_withdrawn(context.store, record["subject"], record["client_id"], _granted_at(record)):
        raise InvalidGrant("The user has withdrawn this client's access")


def _granted_at(record: dict[str, Any]) -> float:
    # Tokens issued before a release that recorded when the grant began: it began with their sign-in.
    granted_at: float = record.get("granted_at", record["auth_time"])
    return granted_at


def _still_allowed(record: dict[str, Any], client: Client | None) -> frozenset[str]:
    """The grant's scopes that its registered CLIENT is still allowed (the first-party client is allowed any)."""
    granted = frozenset(record["scopes"])
    return granted if client is None else granted & client.allowed_scopes
