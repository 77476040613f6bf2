"""Resources that need an access token."""

from fastapi import APIRouter

from ..deps import CurrentToken

router = APIRouter()


@router.get("/protected")
async def protected(token: CurrentToken) -> dict[str, str]:
    """The token alone proves who is calling: no database round trip."""
    return {"message": f"Hello, {token.subject}! This is a protected route."}
