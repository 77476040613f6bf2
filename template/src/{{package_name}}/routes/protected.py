"""Resources that need an access token; scopes through `Security(..., scopes=[...])`."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Security, status
from pydantic import BaseModel

from ..accounts.users import get_user
from ..deps import CurrentToken, SessionDep, current_token
from ..tokens.access_tokens import AccessToken

router = APIRouter()


class UserProfile(BaseModel):
    username: str
    scopes: list[str]


@router.get("/protected")
async def protected(token: CurrentToken) -> dict[str, str]:
    return {"message": f"Hello, {token.subject}! This is a protected route."}


@router.get("/users/me", response_model=UserProfile)
async def read_own_profile(token: CurrentToken, session: SessionDep) -> UserProfile:
    user = await get_user(session, token.subject)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "This user no longer exists")
    return UserProfile(username=user.username, scopes=sorted(user.allowed_scopes))


@router.get("/reports")
async def read_reports(
    token: Annotated[AccessToken, Security(current_token, scopes=["reports:read"])],
) -> dict[str, object]:
    """An example of a scope-guarded resource: tokens without `reports:read` get a 403."""
    return {"owner": token.subject, "reports": []}
