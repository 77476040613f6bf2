"""The authorization code grant (RFC 6749 §4.1), with PKCE (RFC 7636)."""

from ...accounts.users import grant_holder
from ...errors import InvalidClient, InvalidGrant, InvalidRequest
from ...tokens.revocation import app_grant_is_withdrawn, grant_lifetime_seconds
from ..authorization_codes import redeem_code
from . import Context, Grant, TokenRequest, granted_resources, granted_targets, recorded_methods, require_grant_type

GRANT_TYPE = "authorization_code"


async def exchange(request: TokenRequest, context: Context) -> Grant:
    client = request.client
    if client is None:
        raise InvalidClient()
    require_grant_type(client, GRANT_TYPE)
    if not request.form.code:
        raise InvalidRequest("code is required")
    record = await redeem_code(
        context.store,
        request.form.code,
        client=client,
        redirect_uri=request.form.redirect_uri,
        code_verifier=request.form.code_verifier,
        revoke_for_seconds=grant_lifetime_seconds(context.settings),
    )
    # A code issued before a password change or a disabled account ends with the sign-in it came from.
    if await grant_holder(context.session, record) is None:
        raise InvalidGrant("The user can no longer use this code")
    # Codes made before a release that recorded when: their sign-in came before them.
    granted_at = record.get("issued_at", record["auth_time"])
    if await app_grant_is_withdrawn(context.store, record["subject"], client.client_id, granted_at):
        raise InvalidGrant("The user has withdrawn this client's access")
    # After the code is spent: a code is good for one request, whatever that request asks for.
    targets = await granted_targets(request, context, record)
    return Grant(
        subject=record["subject"],
        client_id=client.client_id,
        scopes=frozenset(record["scopes"]),
        grant_id=record["grant_id"],
        auth_time=record["auth_time"],
        methods=recorded_methods(record),
        granted_at=granted_at,
        nonce=record.get("nonce"),
        refreshable="refresh_token" in client.allowed_grant_types,
        targets=targets,
        granted_resources=granted_resources(record, context.own_api),
    )
