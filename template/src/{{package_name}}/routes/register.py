"""Self-registration, mounted only when ALLOW_REGISTRATION is true.

The rules for names and passwords are those of every account (`users.NewUser`); each address may
register MAX_REGISTRATIONS_PER_ADDRESS times per REGISTRATION_WINDOW_SECONDS, so that no one
fills the users table or probes for taken names at speed.
"""

from fastapi import APIRouter, HTTPException, Request, status

from ..accounts.users import NewUser, UserExistsError, create_user
from ..deps import PasswordHasherDep, SessionDep, SettingsDep, TokenStoreDep, client_address
from ..observability.metrics import RATE_LIMITED
from ..storage.record_keys import store_key

router = APIRouter(tags=["users"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The username is taken"}, 429: {"description": "Too many registrations"}},
)
async def register(
    new_user: NewUser,
    request: Request,
    session: SessionDep,
    store: TokenStoreDep,
    settings: SettingsDep,
    passwords: PasswordHasherDep,
) -> dict[str, str]:
    window = settings.registration_window_seconds
    key = store_key("registrations", client_address(request))
    counts = await store.increment({key: window})
    if counts[key] > settings.max_registrations_per_address:
        RATE_LIMITED.labels("registrations").inc()
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "Too many registrations from this address; try again later",
            # The window began at this address's first registration: only its rest is left.
            headers={"Retry-After": str(max(await store.ttl(key), 1))},
        )
    try:
        user = await create_user(session, passwords, new_user)
    except UserExistsError:
        raise HTTPException(status.HTTP_409_CONFLICT, "This username is taken") from None
    return {"username": user.username}
