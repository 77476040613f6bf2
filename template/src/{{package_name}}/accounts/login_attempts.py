"""Brute-force protection for password logins (OWASP ASVS 2.2.1), shared by the password grant
and the login page.

Failed logins are counted three ways: for one account from one address (a tight limit, so that an
attacker elsewhere cannot lock the account's owner out), for one account from every address (a
looser limit per hour), and for one address across accounts (password spraying). A browser with a
device cookie for the account (device_cookies.py) is counted on its own instead, as tightly as one
address. An attempt is counted before it is evaluated and goes ahead only while every count is
within its limit, so concurrent attempts never pass a limit; a refused or successful attempt is
taken back off.
"""

from dataclasses import dataclass

from ..config import Settings
from ..observability.metrics import RATE_LIMITED
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from .casefold import folded


class TooManyFailedLogins(Exception):
    """Logins are paused for this account or address; `retry_after` is the time left, in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Attempt:
    """The counter keys of one login attempt: a success clears `own` and takes itself off `shared`."""

    own: str
    shared: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return self.own, *self.shared


def _key(kind: str, *parts: str) -> str:
    return store_key(f"failed-logins:{kind}", *parts)


async def begin(
    store: TokenStore, settings: Settings, username: str, address: str, trusted_device: str | None = None
) -> Attempt:
    """Count the attempt, or refuse it when a limit is reached; counted by name whether or not the
    user exists, so a refusal reveals nothing either. `trusted_device` is the token of a device
    cookie valid for this account: the attempt is then counted against that device alone."""
    tight = (settings.max_failed_logins, settings.failed_login_window_seconds)
    if trusted_device is not None:
        attempt = Attempt(_key("device", trusted_device))
        limits = {attempt.own: tight}
    else:
        # One account under every spelling that logs into it.
        account = folded(username)
        account_key, address_key = _key("account", account), _key("address", address)
        attempt = Attempt(_key("account-address", account, address), (account_key, address_key))
        limits = {
            attempt.own: tight,
            account_key: (settings.max_failed_logins_per_account, settings.failed_login_long_window_seconds),
            address_key: (settings.max_failed_logins_per_address, settings.failed_login_long_window_seconds),
        }
    await count(store, attempt, limits, "failed_logins")
    return attempt


async def count(store: TokenStore, attempt: Attempt, limits: dict[str, tuple[int, int]], name: str) -> None:
    """Count ATTEMPT on each of its keys, each with LIMITS' (limit, window in seconds); or refuse it,
    TooManyFailedLogins, when a count would pass its limit (counted in the metrics as NAME)."""
    counts = await store.increment({key: window for key, (_, window) in limits.items()})
    exceeded = [key for key, (limit, _) in limits.items() if counts[key] > limit]
    if exceeded:
        # Refused until every exceeded counter has expired: its window began at its first failure.
        retry_after = max([await store.ttl(key) for key in exceeded])
        # Not evaluated, so not a failure: a locked-out attacker's attempts count nowhere else.
        await store.decrement(*attempt.keys)
        RATE_LIMITED.labels(name).inc()
        raise TooManyFailedLogins(max(retry_after, 1))


async def succeeded(store: TokenStore, attempt: Attempt) -> None:
    await store.reset(attempt.own)
    if attempt.shared:
        await store.decrement(*attempt.shared)


async def abandoned(store: TokenStore, attempt: Attempt) -> None:
    """The attempt could not be evaluated (the database or Redis failed meanwhile): it is no failure."""
    await store.decrement(*attempt.keys)
