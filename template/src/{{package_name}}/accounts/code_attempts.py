"""Limits on second-factor codes (authenticator and recovery codes) and passkey assertions, counted
apart from failed passwords as login_attempts counts those: per account, so that someone who has
the password cannot try codes until one fits, and per address across accounts (the only count of
a passkey sign-in, whose account is not known before it holds). A browser with a device cookie for
the account (device_cookies.py) is counted on its own instead, so whoever has the password cannot
lock the owner's own browsers out. Refused with TooManyFailedLogins."""

from sqlalchemy.ext.asyncio import AsyncSession

from ..config import Settings
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from . import device_cookies
from .casefold import folded
from .login_attempts import Attempt, count

# The name of these limits in the metrics.
LIMIT = "failed_codes"


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
        await count(store, attempt, {attempt.own: (settings.max_failed_codes, window)}, LIMIT)
        return attempt
    attempt = Attempt(store_key("failed-codes:account", folded(username)), (_address_key(address),))
    limits = {
        attempt.own: (settings.max_failed_codes, window),
        attempt.shared[0]: (settings.max_failed_codes_per_address, window),
    }
    await count(store, attempt, limits, LIMIT)
    return attempt


async def begin_from_address(store: TokenStore, settings: Settings, address: str) -> Attempt:
    """Count an attempt of no known account (a passkey sign-in), or refuse it when the address's limit is reached."""
    attempt = Attempt(_address_key(address))
    await count(
        store,
        attempt,
        {attempt.own: (settings.max_failed_codes_per_address, settings.failed_login_long_window_seconds)},
        LIMIT,
    )
    return attempt


async def held_from_address(store: TokenStore, attempt: Attempt) -> None:
    """An attempt of `begin_from_address` that held is no failure: it is taken off the address's
    count, which it must not reset (one good passkey would clear an attacker's failures)."""
    await store.decrement(*attempt.keys)


def _address_key(address: str) -> str:
    return store_key("failed-codes:address", address)
