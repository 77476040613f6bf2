"""Access tokens this process has already verified, so that a client reusing its token (the usual
case) skips the signature and claim checks. Expiry, the token's and that of a retired key that signed
it, is checked again on every hit; revocation is never cached, it is checked on every request."""

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

from .access_tokens import AccessToken

# About 2 KB each: the cache stays under 3 MB however many tokens pass.
MAX_ENTRIES = 1024


class VerifiedTokens:
    """A bounded LRU of verified tokens, keyed by a digest of the token (the token itself is not
    kept) and the issuer and audience it was verified for."""

    def __init__(self, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.time) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[bytes, str, str], AccessToken] = OrderedDict()

    def get(self, token: str, issuer: str, audience: str, leeway: int) -> AccessToken | None:
        key = (_digest(token), issuer, audience)
        access = self._entries.get(key)
        if access is None:
            return None
        # The same rules as verification: expired once `exp` is `leeway` seconds past, or its key retired.
        now = self._clock()
        if access.expires_at <= now - leeway or (access.key_not_after is not None and now >= access.key_not_after):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return access

    def put(self, token: str, issuer: str, audience: str, access: AccessToken) -> None:
        key = (_digest(token), issuer, audience)
        self._entries[key] = access
        self._entries.move_to_end(key)
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
