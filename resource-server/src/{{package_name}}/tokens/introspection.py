"""Opaque access tokens (OAUTH_INTROSPECTION_CLIENT_ID and _SECRET set): asked about at the issuer's RFC 7662
introspection endpoint, a bounded number at a time, and the active ones kept for a short while."""

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..issuer.documents import IssuerUnavailable, JsonDocuments
from ..issuer.keys import IssuerKeys

logger = logging.getLogger(__name__)
MAX_ENTRIES = 1024


class IntrospectionFailed(Exception):
    """The issuer could not say whether the token is active: unreachable, an error, or a malformed answer."""


class Introspector:
    """Asks the issuer about a token, as a confidential client of its own."""

    def __init__(
        self,
        documents: JsonDocuments,
        keys: IssuerKeys,
        client: tuple[str, str],
        *,
        cache_seconds: int,
        concurrency: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._documents = documents
        self._keys = keys  # whose metadata names the endpoint
        self._client = client
        self._cache_seconds = cache_seconds
        self._clock = clock
        # Each unknown token is a request to the issuer: a flood of made-up ones waits here, at most
        # CONCURRENCY at a time, rather than flooding the issuer in turn.
        self._slots = asyncio.Semaphore(concurrency)
        self._active: OrderedDict[bytes, tuple[dict[str, Any], float]] = OrderedDict()

    async def introspect(self, token: str) -> dict[str, Any] | None:
        """The issuer's answer for an active token (its claims), None for an inactive one."""
        key = hashlib.sha256(token.encode()).digest()
        cached = self._active.get(key)
        if cached is not None and cached[1] > self._clock():
            self._active.move_to_end(key)
            return cached[0]
        metadata = self._keys.metadata
        if metadata is None or metadata.introspection_endpoint is None:
            # Logged: otherwise a misconfigured issuer shows only as every opaque token refused.
            logger.warning("Introspection failed: the issuer's metadata names no https introspection endpoint")
            raise IntrospectionFailed("the issuer's metadata names no https introspection endpoint")
        async with self._slots:
            try:
                answer = await self._documents.post_form(
                    metadata.introspection_endpoint,
                    {"token": token, "token_type_hint": "access_token"},
                    self._client,
                )
            except IssuerUnavailable as exc:
                logger.warning("Introspection failed: %s", exc)
                raise IntrospectionFailed(str(exc)) from None
        if answer.get("active") is not True:
            return None
        expires = answer.get("exp")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise IntrospectionFailed("an active token's answer has no exp")
        # Compared, not converted: float() of an integer `exp` past 1e308 raises.
        self._active[key] = (answer, min(self._clock() + self._cache_seconds, expires))
        self._active.move_to_end(key)
        if len(self._active) > MAX_ENTRIES:
            self._active.popitem(last=False)
        return answer
