"""Self-registration, mounted only when ALLOW_REGISTRATION is true."""

from fastapi import APIRouter, HTTPException, status

from ..deps import PasswordHasherDep, SessionDep
from ..users import NewUser, UserExistsError, create_user

router = APIRouter(tags=["users"])


@router.post("/register", status_code=status.HTTP_201_CREATED)
async def register(new_user: NewUser, session: SessionDep, passwords: PasswordHasherDep) -> dict[str, str]:
    try:
        user = await create_user(session, passwords, new_user)
    except UserExistsError:
        raise HTTPException(status.HTTP_409_CONFLICT, "This username is taken") from None
    return {"username": user.username}
