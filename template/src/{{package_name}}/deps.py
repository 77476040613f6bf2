"""Every request dependency, as an Annotated type the routes can use in their signatures."""

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.openapi.models import OAuth2 as OAuth2Model
from fastapi.openapi.models import OAuthFlowPassword, OAuthFlows
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase
from sqlalchemy.ext.asyncio import AsyncSession

from .accounts.passwords import PasswordHasher
from .accounts.secret_encryption import SecretBox
from .accounts.users import get_user
from .app_state import app_state
from .audit import trail as audit
from .bearer_challenges import bearer_challenge, insufficient_scope
from .config import Settings, issuer_of
from .federation.upstream_clients import UpstreamClients
from .oauth.client_documents import ClientDocuments
from .oauth.clients import get_client
from .oauth.grants import FIRST_PARTY_CLIENT_ID
from .oauth.grants.client_credentials import CLIENT_SUBJECT_PREFIX
from .oauth.resource_indicators import Target
from .oauth.resource_metadata import metadata_url, own_metadata_url
from .oauth.scopes import ADMIN_SCOPE, ADMIN_SCOPES, SCOPES
from .storage.token_store import TokenStore
from .tokens.access_tokens import AccessToken, InvalidTokenError, verify_access_token
from .tokens.id_token_keys import IdTokenKeySet
from .tokens.id_tokens import IdTokenSigners
from .tokens.revocation import is_revoked
from .tokens.signing_keys import KeySet

INVALID_TOKEN = "The access token is invalid or has expired"


async def get_settings(request: Request) -> Settings:
    return app_state(request.app).settings


async def get_keys(request: Request) -> KeySet:
    return app_state(request.app).keys


async def get_id_token_keys(request: Request) -> IdTokenKeySet:
    return app_state(request.app).id_token_keys


async def get_id_token_signers(request: Request) -> IdTokenSigners:
    return app_state(request.app).id_token_signers


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with app_state(request.app).sessions() as session:
        yield session


async def get_token_store(request: Request) -> TokenStore:
    return app_state(request.app).token_store


async def get_password_hasher(request: Request) -> PasswordHasher:
    return app_state(request.app).passwords


async def get_secret_box(request: Request) -> SecretBox:
    box = app_state(request.app).secret_box
    if box is None:
        # Production with MFA=off and no TOTP_ENCRYPTION_KEYS: there are no second factors to set up.
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    return box


async def get_clock(request: Request) -> Callable[[], float]:
    return app_state(request.app).clock


async def get_upstream_clients(request: Request) -> UpstreamClients:
    return app_state(request.app).upstream


async def get_client_documents(request: Request) -> ClientDocuments:
    state = app_state(request.app)
    return ClientDocuments(state.settings, state.client_metadata_fetcher, state.clock)


def client_address(request: Request) -> str:
    """The caller's address. uvicorn puts a forwarded one here only when the peer is a trusted
    proxy (FORWARDED_ALLOW_IPS, default 127.0.0.1), so a client cannot choose it."""
    return request.client.host if request.client else ""


SettingsDep = Annotated[Settings, Depends(get_settings)]
TokenStoreDep = Annotated[TokenStore, Depends(get_token_store)]
KeysDep = Annotated[KeySet, Depends(get_keys)]
IdTokenKeysDep = Annotated[IdTokenKeySet, Depends(get_id_token_keys)]
IdTokenSignersDep = Annotated[IdTokenSigners, Depends(get_id_token_signers)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]
SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
# Finds a request's client: registered, or described by its Client ID Metadata Document.
ClientDocumentsDep = Annotated[ClientDocuments, Depends(get_client_documents)]
UpstreamClientsDep = Annotated[UpstreamClients, Depends(get_upstream_clients)]
# What tokens are checked against for expiry and for their keys' retirement.
ClockDep = Annotated[Callable[[], float], Depends(get_clock)]


def audience_of(settings: Settings, issuer: str) -> str:
    return settings.audience or issuer


async def get_issuer(request: Request, settings: SettingsDep) -> str:
    return issuer_of(request, settings)


IssuerDep = Annotated[str, Depends(get_issuer)]


async def get_audience(settings: SettingsDep, issuer: IssuerDep) -> str:
    return audience_of(settings, issuer)


AudienceDep = Annotated[str, Depends(get_audience)]


class BearerToken(SecurityBase):
    """The dependency that yields the verified, unrevoked access token of a request, and the OAuth2
    password-flow scheme the API description shows for it (what FastAPI's OAuth2PasswordBearer
    would show).

    It proves who calls: no user lookup, and the revocation check is answered in memory wherever the
    token store keeps a mirror. It runs on every protected request, so it reads the header and the
    application's state itself: each sub-dependency (OAuth2PasswordBearer, settings, keys) would cost
    FastAPI another resolution step per request."""

    def __init__(self) -> None:
        self.model = OAuth2Model(
            flows=OAuthFlows(password=OAuthFlowPassword(tokenUrl="token", scopes=SCOPES | ADMIN_SCOPES))
        )
        self.scheme_name = "OAuth2PasswordBearer"

    async def __call__(self, request: Request, security_scopes: SecurityScopes) -> AccessToken:
        access = await verified_access_token(request, bearer_token(request))
        if not set(security_scopes.scopes) <= access.scopes:
            raise insufficient_scope(app_state(request.app).settings.realm, security_scopes.scope_str)
        return access


async def verified_access_token(request: Request, token: str, resource: Target | None = None) -> AccessToken:
    """The access token for RESOURCE (the own API unless given), verified and not revoked; an RFC 6750
    §3 challenge otherwise. The UserInfo endpoint calls it too, with a token from the header or from a
    form body, and the MCP endpoint for its own resource."""
    state = app_state(request.app)
    settings = state.settings
    if not token:
        raise challenge(request, resource=resource)
    issuer = issuer_of(request, settings)
    # A token for another resource (RFC 8707), whose `aud` does not hold this one's, is refused here.
    audience = audience_of(settings, issuer) if resource is None else resource.uri
    verified = state.verified_tokens
    access = verified.get(token, issuer, audience, settings.leeway_seconds)
    if access is None:
        try:
            access = verify_access_token(
                token,
                state.keys,
                issuer=issuer,
                audience=audience,
                leeway=settings.leeway_seconds,
                max_lifetime=settings.access_token_seconds,
                clock=state.clock,
            )
        except InvalidTokenError:
            raise challenge(request, "invalid_token", INVALID_TOKEN, resource=resource) from None
        verified.put(token, issuer, audience, access)
    if await is_revoked(state.token_store, access):
        raise challenge(request, "invalid_token", INVALID_TOKEN, resource=resource)
    return access


def challenge(
    request: Request, error: str | None = None, description: str | None = None, *, resource: Target | None = None
) -> HTTPException:
    """The 401 of a protected route (RFC 6750 §3), naming where the metadata of its RESOURCE is (the own
    API unless given; RFC 9728 §5.1)."""
    settings = app_state(request.app).settings
    issuer = issuer_of(request, settings)
    metadata = own_metadata_url(issuer) if resource is None else metadata_url(resource.uri)
    return bearer_challenge(settings.realm, error, description, resource_metadata=metadata)


def bearer_token(request: Request) -> str:
    """The credentials of an `Authorization: Bearer ...` header (RFC 6750 §2.1; the scheme in any
    case), or "" when there is none."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


# Guard a route with `token: CurrentToken`, or with scopes: `Security(current_token, scopes=[...])`.
current_token = BearerToken()
CurrentToken = Annotated[AccessToken, Security(current_token)]


async def admin_caller(
    request: Request,
    token: Annotated[AccessToken, Security(current_token, scopes=[ADMIN_SCOPE])],
    audience: AudienceDep,
) -> AccessToken:
    """The token of an admin API call, which must carry `admin` and be for this service's API alone (any
    other audience could replay it), held by a user or client that still holds `admin`: the events of the
    call name it as who acted."""
    if token.claims.get("aud") not in (audience, [audience]):
        raise challenge(request, "invalid_token", "The admin API takes only tokens for this service's API alone")
    # The one check against the database here: taking `admin` away or disabling the account ends an
    # operator's power at once, even over a token issued in a race with the change.
    async with app_state(request.app).sessions() as session:
        if not await _still_holds_admin(session, token):
            raise insufficient_scope(app_state(request.app).settings.realm, ADMIN_SCOPE)
    audit.act_for(token.subject if token.subject.startswith(CLIENT_SUBJECT_PREFIX) else audit.user(token.subject))
    return token


AdminToken = Annotated[AccessToken, Depends(admin_caller)]


async def _still_holds_admin(session: AsyncSession, token: AccessToken) -> bool:
    """Whether the token's holder is still allowed `admin`: the client that got it, and the user it
    was got for (a user's token through a registered client needs both)."""
    if token.client_id != FIRST_PARTY_CLIENT_ID:
        client = await get_client(session, token.client_id, unused_before=0)
        if client is None or ADMIN_SCOPE not in client.allowed_scopes:
            return False
    if token.subject.startswith(CLIENT_SUBJECT_PREFIX):
        return token.subject == CLIENT_SUBJECT_PREFIX + token.client_id
    user = await get_user(session, token.subject)
    return (
        user is not None and user.username == token.subject and not user.disabled and ADMIN_SCOPE in user.allowed_scopes
    )
