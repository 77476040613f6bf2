"""Access tokens this process has already verified, so that a client reusing its token skips the
signature and claim checks; expiry is checked again on every hit, and the key by its caller."""

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..issuer.keys import PublishedKey
    from .access_tokens import AccessToken

# A few KB each for usual tokens; tokens are at most 16 KB, so the cache stays under about 20 MB.
MAX_ENTRIES = 1024


class VerifiedTokens:
    """A bounded LRU of verified tokens with the published key that verified each (None: the shared
    secret), keyed by a digest of the token (the token itself is not kept)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.time) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[bytes, tuple[AccessToken, PublishedKey | None]] = OrderedDict()

    def get(self, token: str, leeway: int) -> "tuple[AccessToken, PublishedKey | None] | None":
        key = _digest(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        # The same rule as verification: expired once `exp` is `leeway` seconds past.
        if entry[0].expires_at <= self._clock() - leeway:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, token: str, access: "AccessToken", published: "PublishedKey | None") -> None:
        key = _digest(token)
        self._entries[key] = (access, published)
        self._entries.move_to_end(key)
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
