"""Every request dependency, as an Annotated type the routes can use in their signatures."""

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase

from .app_state import app_state
from .bearer_challenges import bearer_challenge, insufficient_scope
from .config import Settings
from .resource import metadata_url, resource_uri
from .tokens.access_tokens import AccessToken, InvalidTokenError

INVALID_TOKEN = "The access token is invalid or has expired"


async def get_settings(request: Request) -> Settings:
    return app_state(request.app).settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


class BearerToken(SecurityBase):
    """The dependency that yields the verified access token of a request (RFC 6750 §2.1), and the
    bearer scheme the API description shows for it. It reads the header and the application's state
    itself: each sub-dependency would cost FastAPI another resolution step on every request."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(bearerFormat="JWT", description="An access token from the issuer")
        self.scheme_name = "BearerToken"

    async def __call__(self, request: Request, security_scopes: SecurityScopes) -> AccessToken:
        state = app_state(request.app)
        token = bearer_token(request)
        if not token:
            raise challenge(request)
        try:
            access = await state.verifier.verify(token)
        except InvalidTokenError:
            raise challenge(request, "invalid_token", INVALID_TOKEN) from None
        if not set(security_scopes.scopes) <= access.scopes:
            raise insufficient_scope(state.settings.realm, security_scopes.scope_str)
        return access


def challenge(request: Request, error: str | None = None, description: str | None = None) -> Exception:
    settings = app_state(request.app).settings
    metadata = metadata_url(resource_uri(settings, str(request.base_url)))
    return bearer_challenge(settings.realm, error, description, resource_metadata=metadata)


def bearer_token(request: Request) -> str:
    """The credentials of an `Authorization: Bearer ...` header (the scheme in any case), or ""."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


# Guard a route with `token: CurrentToken`, or with scopes: `Security(current_token, scopes=[...])`.
current_token = BearerToken()
CurrentToken = Annotated[AccessToken, Security(current_token)]
