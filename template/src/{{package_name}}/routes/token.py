"""The token endpoint (RFC 6749 §3.2): authenticate the client, run the grant, issue the tokens.

Every error is an `OAuthError`, raised here, by client authentication or by the grant, and answered
as RFC 6749 §5.2 says by the application's error handlers; so is a form that cannot be read.
"""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.authentication_methods import level_of
from ..accounts.users import get_user
from ..audit import trail as audit
from ..config import Settings
from ..deps import (
    AudienceDep,
    ClientDocumentsDep,
    ClockDep,
    IdTokenSignersDep,
    IssuerDep,
    KeysDep,
    PasswordHasherDep,
    SessionDep,
    SettingsDep,
    TokenStoreDep,
    client_address,
)
from ..errors import NO_STORE, InvalidRequest, UnsupportedGrantType
from ..oauth.client_auth import authenticate_client
from ..oauth.clients import note_client_use
from ..oauth.consents import note_use
from ..oauth.grants import Context, Grant, TokenForm, TokenRequest
from ..oauth.grants.supported import EXCHANGES, Exchange, offered_grant_types
from ..oauth.resource_indicators import audience_claim, own_api, served_here, token_scopes
from ..observability.metrics import TOKENS_ISSUED
from ..storage.models import Client
from ..storage.token_store import TokenStore
from ..tokens.access_tokens import issue_access_token
from ..tokens.id_tokens import DEFAULT_ALGORITHM, IdTokenSigners, issue_id_token
from ..tokens.refresh_grants import note_refresh_grant
from ..tokens.refresh_tokens import issue_refresh_token

router = APIRouter(tags=["oauth2"])
# RFC 8707 §2: a token may be asked for several resources, each a `resource` parameter.
REPEATABLE = frozenset({"resource"})


class TokenResponse(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None


@router.post("/token", name="token", response_model=TokenResponse, response_model_exclude_none=True)
async def token(
    request: Request,
    form: Annotated[TokenForm, Form()],
    session: SessionDep,
    clients: ClientDocumentsDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    keys: KeysDep,
    id_token_signers: IdTokenSignersDep,
    passwords: PasswordHasherDep,
    issuer: IssuerDep,
    audience: AudienceDep,
    clock: ClockDep,
) -> JSONResponse:
    """Exchange a grant for tokens.

    `grant_type=password` is for first-party clients only; in production it needs a registered
    client (REQUIRE_CLIENT_FOR_PASSWORD_GRANT). While the service is checking as many passwords
    as it can, further password logins get `503` with `Retry-After` at once.
    """
    await _refuse_repeated_parameters(request)
    client = await authenticate_client(request, session, clients)
    exchange = _exchange(form.grant_type, settings)
    token_request = TokenRequest(form, client, client_address(request))
    own = own_api(audience, settings.realm)
    served = served_here(issuer, settings.realm, settings.mcp)
    grant = await exchange(token_request, Context(session, store, settings, passwords, own, served))
    if grant.grant_id is not None:
        # The user's connected app, if the client is one, shows when it last got tokens.
        await note_use(session, grant.subject, grant.client_id)
    if client is not None:
        # A self-registered client that gets tokens is in use: it does not expire (clients.py).
        await note_client_use(session, client, int(clock()))
    lifetime = settings.access_token_seconds
    targets = grant.targets or (own,)
    # What the access token grants: the scopes its audiences declare (resource_indicators.py).
    scopes = token_scopes(grant.scopes, targets)
    access_token = issue_access_token(
        keys,
        issuer=issuer,
        audience=audience_claim(targets),
        subject=grant.subject,
        client_id=grant.client_id,
        scopes=scopes,
        lifetime_seconds=lifetime,
        grant_id=grant.grant_id,
    )
    id_token = await _id_token(session, id_token_signers, settings, issuer, client, grant, access_token)
    body = TokenResponse(
        access_token=access_token,
        id_token=id_token,
        token_type="Bearer",
        expires_in=lifetime,
        scope=" ".join(sorted(scopes)),
        refresh_token=await _refresh_token(session, store, settings, grant),
    )
    # Once every token of the answer is made: a store that fails meanwhile answers 503, and issued nothing.
    TOKENS_ISSUED.labels(form.grant_type).inc()
    audit.record(
        "token.issued",
        actor=audit.client(grant.client_id),
        subject=grant.subject,
        client_id=grant.client_id,
        detail={
            "grant_type": form.grant_type,
            "scopes": sorted(scopes),
            "refresh_token": body.refresh_token is not None,
        },
    )
    return JSONResponse(body.model_dump(exclude_none=True), headers=NO_STORE)


async def _refuse_repeated_parameters(request: Request) -> None:
    # RFC 6749 §3.2: a parameter sent twice fails the request, whatever its name. The form model
    # keeps one value of each; the form itself, already read, has them all.
    form = await request.form()
    repeated = sorted(name for name in set(form.keys()) - REPEATABLE if len(form.getlist(name)) > 1)
    if repeated:
        raise InvalidRequest(f"Repeated parameter: {', '.join(repeated)}")


def _exchange(grant_type: str | None, settings: Settings) -> Exchange:
    """The grant GRANT_TYPE names, when this service offers it."""
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    exchange = EXCHANGES.get(grant_type)
    if exchange is None or grant_type not in offered_grant_types(settings):
        raise UnsupportedGrantType(f"Unsupported grant_type: {grant_type}")
    return exchange


async def _id_token(
    session: AsyncSession,
    signers: IdTokenSigners,
    settings: Settings,
    issuer: str,
    client: Client | None,
    grant: Grant,
    access_token: str,
) -> str | None:
    """OpenID Connect Core §3.1.3.3 and §12.2: with the tokens of a user's grant that includes
    `openid`; a refresh keeps `sub`, `auth_time`, `amr` and `acr`, and carries no nonce."""
    if "openid" not in grant.scopes or grant.grant_id is None:
        return None
    user = await get_user(session, grant.subject)
    if user is None:
        return None
    return issue_id_token(
        signers,
        algorithm=DEFAULT_ALGORITHM if client is None else client.id_token_signed_response_alg,
        issuer=issuer,
        subject=user.subject,
        client_id=grant.client_id,
        auth_time=grant.auth_time,
        methods=grant.methods,
        level=level_of(grant.methods),
        lifetime_seconds=settings.id_token_seconds,
        access_token=access_token,
        nonce=grant.nonce,
    )


async def _refresh_token(session: AsyncSession, store: TokenStore, settings: Settings, grant: Grant) -> str | None:
    if not settings.refresh_tokens_enabled or not grant.refreshable or grant.grant_id is None:
        return None
    token = await issue_refresh_token(
        store,
        settings,
        grant_id=grant.grant_id,
        client_id=grant.client_id,
        subject=grant.subject,
        scopes=grant.refresh_scopes,
        auth_time=grant.auth_time,
        methods=grant.methods,
        granted_at=grant.granted_at,
        replaces=grant.refreshed_from,
        resources=grant.granted_resources,
    )
    # For operators, who list a user's grants and end one (routes/admin/grants.py).
    await note_refresh_grant(
        session,
        grant_id=grant.grant_id,
        username=grant.subject,
        client_id=grant.client_id,
        scopes=grant.refresh_scopes,
        auth_time=grant.auth_time,
        granted_at=grant.granted_at,
        lifetime_seconds=settings.refresh_token_expire_days * 86400,
        new=grant.refreshed_from is None,
    )
    return token
