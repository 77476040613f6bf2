"""Limits on second-factor codes (authenticator and recovery codes), counted apart from failed
passwords as login_attempts counts those: per account, so that someone who has the password cannot
try codes until one fits, and per address across accounts. A browser with a device cookie for the
account (device_cookies.py) is counted on its own instead, so whoever has the password cannot lock
the owner's own browsers out. Refused with TooManyFailedLogins."""

from sqlalchemy.ext.asyncio import AsyncSession

from ..config import Settings
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from . import device_cookies
from .casefold import folded
from .login_attempts import Attempt, count


async def begin(
    session: AsyncSession,
    store: TokenStore,
    settings: Settings,
    username: str,
    *,
    address: str,
    device: str | None,
) -> Attempt:
    """Count a code's attempt from ADDRESS (with the token of the browser's DEVICE cookie, if it
    sent one), or refuse it when a limit is reached."""
    window = settings.failed_login_long_window_seconds
    if device is not None and await device_cookies.is_trusted(session, store, device, username):
        attempt = Attempt(store_key("failed-codes:device", device))
        await count(store, attempt, {attempt.own: (settings.max_failed_codes, window)})
        return attempt
    attempt = Attempt(
        store_key("failed-codes:account", folded(username)), (store_key("failed-codes:address", address),)
    )
    limits = {
        attempt.own: (settings.max_failed_codes, window),
        attempt.shared[0]: (settings.max_failed_codes_per_address, window),
    }
    await count(store, attempt, limits)
    return attempt
