"""Initial access tokens (RFC 7591 §3): what a client presents to register itself while
CLIENT_REGISTRATION=token. `create-registration-token` makes one, good for a number of registrations
until it expires; the token store keeps it under its digest, never in clear.
"""

import secrets

from ..audit import trail as audit
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from .clients import SECONDS_PER_DAY

MAX_DAYS = 365
MAX_USES = 10_000


async def create_initial_access_token(store: TokenStore, days: int, uses: int, now: float) -> str:
    """A new token for USES registrations within DAYS; returned once, to be handed to a developer."""
    token = secrets.token_urlsafe(32)
    lifetime = days * SECONDS_PER_DAY
    await store.put(_key(token), {"uses": uses, "expires_at": int(now) + lifetime}, lifetime)
    audit.record("initial_access_token.created", detail={"days": days, "uses": uses})
    return token


async def has_uses_left(store: TokenStore, token: str, now: float) -> bool:
    """Whether TOKEN is an unexpired initial access token with a registration left."""
    record = await _live_record(store, token, now)
    return record is not None and await store.count(_uses_key(token)) < record["uses"]


async def use_initial_access_token(store: TokenStore, token: str, now: float) -> bool:
    """Count one registration against TOKEN: whether it had one left. Each of concurrent uses gets a
    count of its own, so no more succeed than the token allows."""
    record = await _live_record(store, token, now)
    if record is None:
        return False
    uses = _uses_key(token)
    counts = await store.increment({uses: max(record["expires_at"] - int(now), 1)})
    return counts[uses] <= record["uses"]


async def _live_record(store: TokenStore, token: str, now: float) -> dict[str, int] | None:
    record = await store.get(_key(token))
    # The store forgets it when it expires; the clock is checked too, as the service's own.
    if record is None or record["expires_at"] <= now:
        return None
    return {"uses": int(record["uses"]), "expires_at": int(record["expires_at"])}


def _key(token: str) -> str:
    return store_key("initial-access-token", token)


def _uses_key(token: str) -> str:
    return store_key("initial-access-token-uses", token)
