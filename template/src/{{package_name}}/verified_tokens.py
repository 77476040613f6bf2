"""Access tokens this process has already verified, so that a client reusing its token (the usual
case) skips the signature and claim checks. Expiry is checked again on every hit; revocation is
never cached, it is checked on every request."""

import time
from collections import OrderedDict

from .tokens import AccessToken

MAX_ENTRIES = 4096


class VerifiedTokens:
    """A bounded LRU of verified tokens, keyed by the token and the issuer and audience it was
    verified for."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str, str], AccessToken] = OrderedDict()

    def get(self, token: str, issuer: str, audience: str, leeway: int) -> AccessToken | None:
        key = (token, issuer, audience)
        access = self._entries.get(key)
        if access is None:
            return None
        # The same rule as verification: expired once `exp` is `leeway` seconds past.
        if access.expires_at <= time.time() - leeway:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return access

    def put(self, token: str, issuer: str, audience: str, access: AccessToken) -> None:
        self._entries[(token, issuer, audience)] = access
        self._entries.move_to_end((token, issuer, audience))
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
