"""Routes that need an access token; scopes through `Security(current_token, scopes=[...])`."""

from typing import Annotated

from fastapi import APIRouter, Security
from pydantic import BaseModel

from ..deps import CurrentToken, current_token
from ..tokens.access_tokens import AccessToken

router = APIRouter()


class Caller(BaseModel):
    subject: str
    client_id: str | None
    scopes: list[str]
    roles: list[str]


@router.get("/protected")
async def protected(token: CurrentToken) -> dict[str, str]:
    return {"message": f"Hello, {token.subject}! This is a protected route."}


@router.get("/me", response_model=Caller)
async def read_caller(token: CurrentToken) -> Caller:
    """Who the token speaks for, as the issuer said: no database, the token proves it."""
    return Caller(
        subject=token.subject, client_id=token.client_id, scopes=sorted(token.scopes), roles=sorted(token.roles)
    )


@router.get("/reports")
async def read_reports(
    token: Annotated[AccessToken, Security(current_token, scopes=["reports:read"])],
) -> dict[str, object]:
    """An example of a scope-guarded resource: tokens without `reports:read` get a 403."""
    return {"owner": token.subject, "reports": []}
