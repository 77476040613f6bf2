"""The UserInfo endpoint (OpenID Connect Core §5.3): the claims of the scopes the access token carries.

The token comes as RFC 6750 allows: in the Authorization header (GET or POST), or as the
`access_token` field of a form-encoded POST body; errors are RFC 6750 §3 challenges.
"""

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.profiles import claims_for
from ..accounts.users import get_user
from ..bearer_challenges import insufficient_scope
from ..config import Settings
from ..deps import SessionDep, SettingsDep, challenge, verified_access_token
from ..errors import NO_STORE

router = APIRouter(tags=["openid"])

FORM = "application/x-www-form-urlencoded"


@router.get("/userinfo", name="userinfo")
async def userinfo(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    return await _claims(request, session, settings, _header_token(request, settings.realm) or "")


@router.post("/userinfo")
async def userinfo_by_post(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    in_header = _header_token(request, settings.realm)
    in_body = None
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() == FORM:
        form = await request.form()
        values = form.getlist("access_token")
        if len(values) > 1 or (values and in_header is not None):
            # RFC 6750 §2: a request uses one method of sending the token, once.
            raise _invalid_request(settings.realm, "The access token is sent more than once")
        in_body = values[0] if values and isinstance(values[0], str) else None
    return await _claims(request, session, settings, in_header or in_body or "")


async def _claims(request: Request, session: AsyncSession, settings: Settings, token: str) -> JSONResponse:
    access = await verified_access_token(request, token)
    if "openid" not in access.scopes:
        raise insufficient_scope(settings.realm, "openid")
    user = await get_user(session, access.subject)
    if user is None or user.disabled:
        raise challenge(request, "invalid_token", "The access token's user can no longer sign in")
    return JSONResponse(claims_for(user, access.scopes), headers=NO_STORE)


def _header_token(request: Request, realm: str) -> str | None:
    values = request.headers.getlist("authorization")
    if not values:
        return None
    if len(values) > 1:
        raise _invalid_request(realm, "The Authorization header is sent more than once")
    scheme, _, token = values[0].partition(" ")
    if scheme.lower() != "bearer":
        return None  # another scheme is no bearer token: the answer is the plain challenge
    if not token.strip():
        raise _invalid_request(realm, "The Authorization header holds no token")
    return token.strip()


def _invalid_request(realm: str, description: str) -> HTTPException:
    return HTTPException(
        status.HTTP_400_BAD_REQUEST,
        description,
        headers={
            "WWW-Authenticate": f'Bearer realm="{realm}", error="invalid_request", error_description="{description}"'
        },
    )
