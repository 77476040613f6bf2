"""Sign-ins waiting for their second factor: the password (or, for a step-up, the browser's
sign-in) was right, and the user still has to give a code, or set up a factor when MFA requires one.

The sign-in in waiting is a random id in an HttpOnly cookie, its record in the token store for a
few minutes; nothing signs the browser in until `finish_sign_in`. It ends with a password change
(or sign-out everywhere) in between, and when the account is disabled.
"""

import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.authentication_methods import with_second_factor
from ..accounts.device_cookies import remember_device
from ..accounts.users import get_user
from ..config import Settings
from ..cookies import delete_cookie, read_cookie, set_cookie
from ..storage.models import User
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from .sign_ins import start_sign_in

COOKIE = "second_factor"
# Long enough to open an authenticator app, or find the recovery codes and set one up.
LIFETIME_SECONDS = 600


@dataclass(frozen=True, slots=True)
class WaitingSignIn:
    username: str
    # The user's `credentials_changed_at` when the first factor was checked: a change since ends it.
    after_change: int
    # How the user proved who they are so far.
    methods: tuple[str, ...]


def _key(waiting_id: str) -> str:
    return store_key("second-factor", waiting_id)


async def wait_for_second_factor(
    store: TokenStore, settings: Settings, request: Request, response: Response, user: User, methods: tuple[str, ...]
) -> None:
    """Hold the sign-in of USER, who proved METHODS, until a second factor finishes it."""
    waiting_id = secrets.token_urlsafe(32)
    record = {"username": user.username, "after_change": user.credentials_changed_at, "amr": list(methods)}
    await store.put(_key(waiting_id), record, LIFETIME_SECONDS)
    set_cookie(response, request, settings, COOKIE, waiting_id, LIFETIME_SECONDS)


async def waiting_sign_in(
    session: AsyncSession, store: TokenStore, settings: Settings, request: Request
) -> tuple[WaitingSignIn, User] | None:
    """The browser's sign-in in waiting and its user, while it holds."""
    waiting_id = read_cookie(request, settings, COOKIE)
    record = None if not waiting_id else await store.get(_key(waiting_id))
    if record is None:
        return None
    waiting = WaitingSignIn(record["username"], record["after_change"], tuple(record["amr"]))
    user = await get_user(session, waiting.username)
    if user is None or user.disabled or user.credentials_changed_at != waiting.after_change:
        return None
    return waiting, user


async def finish_sign_in(
    store: TokenStore,
    settings: Settings,
    request: Request,
    response: Response,
    waiting: WaitingSignIn,
    user: User,
    *second: str,
) -> None:
    """Sign the browser in as USER, who proved SECOND too, on RESPONSE; the waiting sign-in is spent."""
    waiting_id = read_cookie(request, settings, COOKIE)
    if waiting_id:
        await store.delete(_key(waiting_id))
    delete_cookie(response, request, settings, COOKIE)
    methods = with_second_factor(waiting.methods, *second)
    await start_sign_in(
        store, settings, request, response, user.username, after_change=user.credentials_changed_at, methods=methods
    )
    await remember_device(store, settings, request, response, user)
