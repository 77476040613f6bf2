"""Failed logins counted per username, shared by the password grant and the login page."""

from .config import Settings
from .token_store import TokenStore


class TooManyFailedLogins(Exception):
    """Logins for this username are paused until the window ends."""


def _key(username: str) -> str:
    return f"failed-logins:{username}"


async def check_allowed(store: TokenStore, settings: Settings, username: str) -> None:
    # Counted by name whether or not the user exists, so lockouts reveal nothing either.
    if await store.count(_key(username)) >= settings.max_failed_logins:
        raise TooManyFailedLogins(username)


async def record_failure(store: TokenStore, settings: Settings, username: str) -> None:
    await store.increment(_key(username), settings.failed_login_window_seconds)


async def record_success(store: TokenStore, username: str) -> None:
    await store.reset(_key(username))
