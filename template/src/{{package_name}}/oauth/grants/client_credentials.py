"""The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself.

The token's subject is the client, as `client:CLIENT_ID`: usernames cannot contain `:`, so no user's
tokens can ever carry a client's subject (RFC 9068 §5, RFC 9700 §4.15). No refresh token (§4.4.3).
"""

from ...errors import InvalidClient, UnauthorizedClient
from ..resource_indicators import settle_scopes
from . import Context, Grant, TokenRequest, requested_targets, require_grant_type

GRANT_TYPE = "client_credentials"
CLIENT_SUBJECT_PREFIX = "client:"


async def exchange(request: TokenRequest, context: Context) -> Grant:
    client = request.client
    if client is None:
        raise InvalidClient()
    if client.is_public:
        raise UnauthorizedClient("A public client cannot use client credentials")
    require_grant_type(client, GRANT_TYPE)
    targets = await requested_targets(request, context)
    return Grant(
        subject=CLIENT_SUBJECT_PREFIX + client.client_id,
        client_id=client.client_id,
        scopes=settle_scopes(request.form.scope, client.allowed_scopes, targets),
        targets=targets,
    )
