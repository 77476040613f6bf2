"""Token introspection (RFC 7662), for resource servers registered as confidential clients.

RFC 7662 §2.1 leaves to the server which tokens a client may ask about: a client registered with
`--introspect` may ask about any token; every other confidential client only about its own.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from ..accounts.users import grant_holder
from ..deps import ClockDep, IssuerDep, KeysDep, SessionDep, SettingsDep, TokenStoreDep
from ..errors import NO_STORE, InvalidClient, InvalidRequest
from ..oauth.client_auth import authenticate_client
from ..oauth.client_documents import ClientDocuments
from ..tokens.access_tokens import InvalidTokenError, verify_access_token
from ..tokens.refresh_tokens import find_refresh_token
from ..tokens.revocation import grant_is_revoked, is_revoked

router = APIRouter(tags=["oauth2"])

INACTIVE = {"active": False}


@router.post("/introspect", name="introspect")
async def introspect(
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    keys: KeysDep,
    issuer: IssuerDep,
    clock: ClockDep,
    token: Annotated[str | None, Form()] = None,
    # RFC 7662's token_type_hint needs no parameter: telling a JWT from an opaque token is free.
) -> JSONResponse:
    """Whether a token is active, and what it grants. Inactive, unknown and foreign tokens (those of
    other clients, unless this one may introspect every token) all get exactly `{"active": false}`,
    so the answer reveals nothing about them."""
    # Only confidential clients introspect: a metadata document's client_id is never fetched here.
    client = await authenticate_client(request, session, ClientDocuments(settings, fetcher=None))
    if client is None or client.is_public:
        raise InvalidClient()
    if not token:
        raise InvalidRequest("token is required")
    description = await _describe(token, session, store, settings, keys, issuer, clock)
    if description["active"] and not client.may_introspect and description["client_id"] != client.client_id:
        description = INACTIVE
    return JSONResponse(description, headers=NO_STORE)


async def _describe(
    token: str,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    keys: KeysDep,
    issuer: str,
    clock: Callable[[], float],
) -> dict[str, Any]:
    lifetime = settings.access_token_seconds
    try:
        # Any audience: the resource servers that ask are those of other APIs as well (RFC 8707).
        access = verify_access_token(
            token, keys, issuer=issuer, audience=None, leeway=0, max_lifetime=lifetime, clock=clock
        )
    except InvalidTokenError:
        if not settings.refresh_tokens_enabled:
            return INACTIVE  # those issued before refresh tokens were turned off cannot be used
        return await _describe_refresh_token(token, session, store, issuer)
    if await is_revoked(store, access):
        return INACTIVE
    return {
        "active": True,
        "token_type": "Bearer",
        "scope": " ".join(sorted(access.scopes)),
        "client_id": access.client_id,
        "sub": access.subject,
        "exp": access.expires_at,
        "iat": access.issued_at,
        "aud": access.claims["aud"],
        "iss": access.claims["iss"],
        "jti": access.token_id,
    }


async def _describe_refresh_token(token: str, session: SessionDep, store: TokenStoreDep, issuer: str) -> dict[str, Any]:
    record = await find_refresh_token(store, token)
    if record is None or await grant_is_revoked(store, record["grant_id"]):
        return INACTIVE
    if await grant_holder(session, record) is None:
        return INACTIVE
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": " ".join(record["scopes"]),
        "client_id": record["client_id"],
        "sub": record["subject"],
        "iss": issuer,
    }
