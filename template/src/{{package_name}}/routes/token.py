"""The token endpoint (RFC 6749 §3.2): one form, one grant module per grant type."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..deps import AudienceDep, IssuerDep, KeysDep, SessionDep, SettingsDep, TokenStoreDep
from ..errors import NO_STORE, TokenEndpointError
from ..grants import password
from ..tokens import issue_access_token

router = APIRouter(tags=["oauth2"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


@router.post("/token", name="token", response_model=TokenResponse)
async def token(
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    keys: KeysDep,
    issuer: IssuerDep,
    audience: AudienceDep,
    grant_type: Annotated[str | None, Form()] = None,
    username: Annotated[str | None, Form()] = None,
    password_: Annotated[str | None, Form(alias="password")] = None,
    scope: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    """Exchange a grant for an access token. `grant_type=password` is for first-party clients only."""
    form = await request.form()
    repeated = sorted(name for name in set(form.keys()) if len(form.getlist(name)) > 1)
    if repeated:
        raise TokenEndpointError("invalid_request", f"Repeated parameter: {', '.join(repeated)}")
    if client_secret or request.headers.get("authorization", "").lower().startswith("basic "):
        # No client is registered with this service, so no client credentials can be right.
        raise TokenEndpointError("invalid_client", "Unknown client", status_code=401)
    if not grant_type:
        raise TokenEndpointError("invalid_request", "grant_type is required")
    if grant_type != password.GRANT_TYPE:
        raise TokenEndpointError("unsupported_grant_type", f"Unsupported grant_type: {grant_type}")
    subject, scopes = await password.grant_password(
        session, store, settings, username=username, password=password_, scope=scope
    )
    lifetime = settings.access_token_expire_minutes * 60
    access_token = issue_access_token(
        keys,
        issuer=issuer,
        audience=audience,
        subject=subject,
        client_id=password.FIRST_PARTY_CLIENT_ID,
        scopes=scopes,
        lifetime_seconds=lifetime,
    )
    body = TokenResponse(
        access_token=access_token, token_type="Bearer", expires_in=lifetime, scope=" ".join(sorted(scopes))
    )
    return JSONResponse(body.model_dump(), headers=NO_STORE)
