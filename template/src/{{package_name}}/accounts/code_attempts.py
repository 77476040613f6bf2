"""Limits on second-factor codes (authenticator and recovery codes), counted apart from failed
passwords as login_attempts counts those: per account, so that someone who has the password cannot
try codes until one fits, and per address across accounts. Refused with TooManyFailedLogins."""

from ..config import Settings
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from .casefold import folded
from .login_attempts import Attempt, count


async def begin(store: TokenStore, settings: Settings, username: str, address: str) -> Attempt:
    """Count a code's attempt, or refuse it when a limit is reached."""
    window = settings.failed_login_long_window_seconds
    attempt = Attempt(
        store_key("failed-codes:account", folded(username)), (store_key("failed-codes:address", address),)
    )
    limits = {
        attempt.own: (settings.max_failed_codes, window),
        attempt.shared[0]: (settings.max_failed_codes_per_address, window),
    }
    await count(store, attempt, limits)
    return attempt
