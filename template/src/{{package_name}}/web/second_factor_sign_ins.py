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

from ..accounts import code_attempts
from ..accounts.device_cookies import presented_device, remember_device
from ..accounts.login_attempts import Attempt
from ..accounts.users import get_user
from ..config import Settings
from ..cookies import delete_cookie, read_cookie, set_cookie
from ..deps import client_address
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
    # MFA=required, for a user without a second factor: the encrypted secret of the authenticator
    # app being set up, which this sign-in alone may confirm.
    enrollment: str | None = None


def _key(waiting_id: str) -> str:
    return store_key("second-factor", waiting_id)


async def wait_for_second_factor(
    store: TokenStore,
    settings: Settings,
    request: Request,
    response: Response,
    user: User,
    methods: tuple[str, ...],
    enrollment: str | None = None,
) -> None:
    """Hold the sign-in of USER, who proved METHODS, until a second factor (or, with ENROLLMENT,
    the first code of the app being set up) finishes it. Whatever sign-in was waiting before ends."""
    earlier = read_cookie(request, settings, COOKIE)
    if earlier:
        await store.delete(_key(earlier))
    waiting_id = secrets.token_urlsafe(32)
    record = {
        "username": user.username,
        "after_change": user.credentials_changed_at,
        "amr": list(methods),
        "enrollment": enrollment,
    }
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
    waiting = WaitingSignIn(record["username"], record["after_change"], tuple(record["amr"]), record["enrollment"])
    user = await get_user(session, waiting.username)
    if user is None or user.disabled or user.credentials_changed_at != waiting.after_change:
        return None
    return waiting, user


async def finish_sign_in(
    store: TokenStore,
    settings: Settings,
    request: Request,
    response: Response,
    user: User,
    methods: tuple[str, ...],
) -> None:
    """Sign the browser in as USER, who proved METHODS, on RESPONSE; the waiting sign-in is spent."""
    await end_waiting_sign_in(store, settings, request, response)
    await start_sign_in(
        store, settings, request, response, user.username, after_change=user.credentials_changed_at, methods=methods
    )
    await remember_device(store, settings, request, response, user)


async def end_waiting_sign_in(store: TokenStore, settings: Settings, request: Request, response: Response) -> None:
    """End the browser's sign-in in waiting, if it has one: when it finishes, or the browser signs out."""
    waiting_id = read_cookie(request, settings, COOKIE)
    if not waiting_id:
        return
    await store.delete(_key(waiting_id))
    delete_cookie(response, request, settings, COOKIE)


async def count_code_attempt(
    request: Request, session: AsyncSession, store: TokenStore, settings: Settings, username: str
) -> Attempt:
    """Count an attempt of this browser at a second factor of USERNAME (accounts/code_attempts.py);
    TooManyFailedLogins when a limit is reached."""
    address, device = client_address(request), presented_device(request, settings)
    return await code_attempts.begin(session, store, settings, username, address=address, device=device)
