"""The revocations held in this process, so that checking a token on each request needs no round trip.

The token store feeds the mirror and decides when it may be trusted: never before its first full
load, and never while the feed that keeps it current is interrupted. Then the store asks itself.
"""

import time
from collections.abc import Iterable, Mapping

# Revocations outlive their tokens only briefly; dropping them from memory now and then is enough.
PURGE_INTERVAL_SECONDS = 60


class RevocationMirror:
    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._next_purge = 0.0

    def replace(self, expiry: Mapping[str, float]) -> None:
        """Take a full load from the store: revoked key -> when its record expires (epoch seconds)."""
        self._expiry = dict(expiry)

    def add(self, key: str, expires_at: float) -> None:
        now = time.time()
        self._expiry[key] = max(expires_at, self._expiry.get(key, 0.0))
        if now >= self._next_purge:
            self._expiry = {name: expiry for name, expiry in self._expiry.items() if expiry > now}
            self._next_purge = now + PURGE_INTERVAL_SECONDS

    def expiries(self, keys: Iterable[str]) -> dict[str, float]:
        """The live revocations among KEYS: key -> when its record expires (epoch seconds)."""
        now = time.time()
        return {key: expiry for key in keys if (expiry := self._expiry.get(key, 0.0)) > now}
