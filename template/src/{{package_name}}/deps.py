"""Every request dependency, as an Annotated type the routes can use in their signatures."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy.ext.asyncio import AsyncSession

from .app_state import app_state
from .config import Settings
from .errors import bearer_challenge, insufficient_scope
from .keys import KeySet
from .passwords import PasswordHasher
from .revocation import is_revoked
from .scopes import SCOPES
from .token_store import TokenStore
from .tokens import AccessToken, InvalidTokenError, verify_access_token

INVALID_TOKEN = "The access token is invalid or has expired"

# auto_error=False: the RFC 6750 challenge below names the realm, which FastAPI's does not.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token", scopes=SCOPES, auto_error=False)


async def get_settings(request: Request) -> Settings:
    return app_state(request.app).settings


async def get_keys(request: Request) -> KeySet:
    return app_state(request.app).keys


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with app_state(request.app).sessions() as session:
        yield session


async def get_token_store(request: Request) -> TokenStore:
    return app_state(request.app).token_store


async def get_password_hasher(request: Request) -> PasswordHasher:
    return app_state(request.app).passwords


def client_address(request: Request) -> str:
    """The caller's address. uvicorn puts a forwarded one here only when the peer is a trusted
    proxy (FORWARDED_ALLOW_IPS, default 127.0.0.1), so a client cannot choose it."""
    return request.client.host if request.client else ""


SettingsDep = Annotated[Settings, Depends(get_settings)]
TokenStoreDep = Annotated[TokenStore, Depends(get_token_store)]
KeysDep = Annotated[KeySet, Depends(get_keys)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]


def issuer_of(request: Request, settings: Settings) -> str:
    """ISSUER, or in development the base URL the request arrived at."""
    if settings.issuer is not None:
        return settings.issuer
    return str(request.base_url).rstrip("/")


def audience_of(settings: Settings, issuer: str) -> str:
    return settings.audience or issuer


async def get_issuer(request: Request, settings: SettingsDep) -> str:
    return issuer_of(request, settings)


IssuerDep = Annotated[str, Depends(get_issuer)]


async def get_audience(settings: SettingsDep, issuer: IssuerDep) -> str:
    return audience_of(settings, issuer)


AudienceDep = Annotated[str, Depends(get_audience)]


async def current_token(
    request: Request,
    security_scopes: SecurityScopes,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> AccessToken:
    """The verified, unrevoked access token. It proves who calls: no user lookup, and the
    revocation check is answered in memory wherever the token store keeps a mirror.

    It runs on every protected request, so it reads the application's state itself: each
    sub-dependency would cost FastAPI another resolution step per request."""
    state = app_state(request.app)
    settings = state.settings
    if not token:
        raise bearer_challenge(settings.realm)
    issuer = issuer_of(request, settings)
    audience = audience_of(settings, issuer)
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
                max_lifetime=settings.access_token_expire_minutes * 60,
            )
        except InvalidTokenError:
            raise bearer_challenge(settings.realm, "invalid_token", INVALID_TOKEN) from None
        verified.put(token, issuer, audience, access)
    if await is_revoked(state.token_store, access):
        raise bearer_challenge(settings.realm, "invalid_token", INVALID_TOKEN)
    if not set(security_scopes.scopes) <= access.scopes:
        raise insufficient_scope(settings.realm, security_scopes.scope_str)
    return access


CurrentToken = Annotated[AccessToken, Security(current_token)]
