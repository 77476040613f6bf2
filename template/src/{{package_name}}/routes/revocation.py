"""Token revocation (RFC 7009)."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from ..audit import trail as audit
from ..deps import ClientDocumentsDep, ClockDep, IssuerDep, KeysDep, SessionDep, SettingsDep, TokenStoreDep
from ..errors import NO_STORE, InvalidRequest
from ..oauth.client_auth import authenticate_client
from ..oauth.grants import FIRST_PARTY_CLIENT_ID
from ..tokens.access_tokens import InvalidTokenError, verify_access_token
from ..tokens.refresh_tokens import find_refresh_token, revoke_refresh_token
from ..tokens.revocation import revoke_access_token

router = APIRouter(tags=["oauth2"])


@router.post("/revoke", name="revoke")
async def revoke(
    request: Request,
    session: SessionDep,
    clients: ClientDocumentsDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    keys: KeysDep,
    issuer: IssuerDep,
    clock: ClockDep,
    token: Annotated[str | None, Form()] = None,
    # RFC 7009's token_type_hint needs no parameter: telling a JWT from an opaque token is free.
) -> Response:
    """Revoke an access or refresh token of the calling client: 200 even when the token is unknown.

    Revoking a refresh token revokes its whole grant, access tokens included. Tokens issued
    without a registered client (the password grant's simple flow) are revoked without one.
    Another client's token is left alone, with the same 200, so the answer reveals nothing.
    """
    client = await authenticate_client(request, session, clients)
    if not token:
        raise InvalidRequest("token is required")
    holder = FIRST_PARTY_CLIENT_ID if client is None else client.client_id
    try:
        # Any audience: a client revokes its tokens for other resources (RFC 8707) too.
        access = verify_access_token(
            token,
            keys,
            issuer=issuer,
            audience=None,
            leeway=settings.leeway_seconds,
            max_lifetime=settings.access_token_seconds,
            clock=clock,
        )
    except InvalidTokenError:
        access = None  # unknown, expired or foreign (RFC 7009 §2.2): maybe a refresh token
    if access is not None and access.client_id == holder:
        await revoke_access_token(store, access, int(clock()), settings.leeway_seconds)
        _record(holder, access.subject, "access_token")
    elif access is None:
        # Whatever the hint says, every token type is searched (RFC 7009 §2.1).
        record = await find_refresh_token(store, token)
        if record is not None and record["client_id"] == holder:
            await revoke_refresh_token(store, settings, token)
            _record(holder, record["subject"], "refresh_token")
    return Response(headers=NO_STORE)


def _record(client_id: str, subject: str, token_type: str) -> None:
    # Only what was revoked: a request for another client's token or an unknown one changes nothing.
    audit.record(
        "token.revoked",
        actor=audit.client(client_id),
        subject=subject,
        client_id=client_id,
        detail={"token_type": token_type},
    )
