"""Every request dependency, as an Annotated type the routes can use in their signatures."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from .config import Settings
from .errors import bearer_challenge
from .keys import SigningKey
from .tokens import AccessToken, InvalidTokenError, verify_access_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token", auto_error=False)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_signing_key(request: Request) -> SigningKey:
    key: SigningKey = request.app.state.signing_key
    return key


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SigningKeyDep = Annotated[SigningKey, Depends(get_signing_key)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_issuer(request: Request, settings: SettingsDep) -> str:
    """ISSUER, or in development the base URL the request arrived at."""
    if settings.issuer is not None:
        return settings.issuer
    return str(request.base_url).rstrip("/")


IssuerDep = Annotated[str, Depends(get_issuer)]


async def get_audience(settings: SettingsDep, issuer: IssuerDep) -> str:
    return settings.audience or issuer


AudienceDep = Annotated[str, Depends(get_audience)]


async def current_token(
    settings: SettingsDep,
    key: SigningKeyDep,
    issuer: IssuerDep,
    audience: AudienceDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> AccessToken:
    if not token:
        raise bearer_challenge(settings.realm)
    try:
        return verify_access_token(token, key, issuer=issuer, audience=audience, leeway=settings.leeway_seconds)
    except InvalidTokenError:
        raise bearer_challenge(settings.realm, "invalid_token", "The access token is invalid or has expired") from None


CurrentToken = Annotated[AccessToken, Depends(current_token)]
