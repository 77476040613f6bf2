"""The issuer's published keys, kept in memory: fetched at start-up (retrying until the issuer answers),
refreshed in the background, fetched again at most once per interval for a key it does not know (so
that a flood of made-up `kid`s costs one fetch), and kept while the issuer is down (stale-if-error)."""

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key

from .algorithms import algorithms_for_key
from .documents import IssuerUnavailable, JsonDocuments
from .metadata import IssuerMetadata, discover

logger = logging.getLogger(__name__)
# Keys a set may hold: real issuers publish a handful; more is a mistake or an attack.
MAX_KEYS = 100
# Waits between attempts while the issuer does not answer: doubling from the first to the last.
FIRST_RETRY_SECONDS = 1.0
LAST_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class PublishedKey:
    kid: str | None
    key: Key
    algorithms: frozenset[str]  # the only ones it verifies
    # RFC 7638: tells the key apart from another published later under the same kid.
    thumbprint: str


@dataclass(frozen=True)
class KeyPolicy:
    """What IssuerKeys needs from the settings."""

    issuer: str
    discovery: tuple[str, ...]
    algorithms: frozenset[str] | None
    refresh_seconds: float
    unknown_key_interval_seconds: float
    max_stale_seconds: float
    allow_loopback_http: bool
    # False with a shared secret: the issuer's keys are not used, though its metadata may be (introspection).
    uses_keys: bool = True
    # False with a shared secret and no introspection: nothing is fetched from the issuer at all.
    uses_issuer: bool = True


class IssuerKeys:
    """The keys that verify tokens, per process. Requests never wait for the issuer, except a token
    signed with an unknown key, which waits for the one fetch the interval allows."""

    def __init__(self, policy: KeyPolicy, documents: JsonDocuments, clock: Callable[[], float] = time.time) -> None:
        self._policy = policy
        self._documents = documents
        self._clock = clock
        self._metadata: IssuerMetadata | None = None
        self._keys: dict[str | None, PublishedKey] = {}
        self._fetched_at: float | None = None
        self._last_unknown_key_fetch = -math.inf
        self._in_flight: asyncio.Future[None] | None = None

    @property
    def used(self) -> bool:
        """False when a shared secret verifies tokens, and the issuer's keys play no part."""
        return self._policy.uses_keys

    @property
    def metadata(self) -> IssuerMetadata | None:
        return self._metadata

    def loaded(self) -> bool:
        """Keys are in hand and not older than JWKS_MAX_STALE_SECONDS: tokens can be verified."""
        if not self._policy.uses_issuer:
            return True
        fetched_at = self._fetched_at
        return fetched_at is not None and self._clock() - fetched_at < self._policy.max_stale_seconds

    def age_seconds(self) -> float | None:
        return None if self._fetched_at is None else self._clock() - self._fetched_at

    def published(self) -> list[PublishedKey]:
        return list(self._keys.values())

    def known(self, kid: str | None) -> PublishedKey | None:
        """The key with KID while the keys are loaded; a token without `kid` gets the only key, if one."""
        if not self.loaded():
            return None
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    async def find(self, kid: str | None) -> PublishedKey | None:
        """`known`, or after one fetch of the key set when the interval allows one (or one is under way)."""
        found = self.known(kid)
        if found is not None:
            return found
        if self._in_flight is None:
            now = self._clock()
            if now - self._last_unknown_key_fetch < self._policy.unknown_key_interval_seconds:
                return None
            self._last_unknown_key_fetch = now
        try:
            await self.refresh()
        except IssuerUnavailable as exc:
            logger.warning("The issuer's keys could not be fetched for an unknown key (%s)", exc)
        return self.known(kid)

    async def refresh(self) -> None:
        """Fetch the metadata (first time) and the key set; concurrent callers share one fetch. On
        failure the keys in hand stay (until they are too old) and IssuerUnavailable is raised."""
        if self._in_flight is None:
            self._in_flight = asyncio.ensure_future(self._fetch())
            self._in_flight.add_done_callback(self._fetched)
        # Shielded: a caller that gives up (its client went away) does not cancel the others' fetch.
        await asyncio.shield(self._in_flight)

    def _fetched(self, fetch: "asyncio.Future[None]") -> None:
        # Runs before the callers resume: the next refresh fetches anew.
        if self._in_flight is fetch:
            self._in_flight = None
        if not fetch.cancelled():
            fetch.exception()  # seen by the callers; marked retrieved when every caller gave up

    async def _fetch(self) -> None:
        policy = self._policy
        if self._metadata is None:
            self._metadata = await discover(
                self._documents, policy.issuer, policy.discovery, allow_loopback_http=policy.allow_loopback_http
            )
        if not policy.uses_keys:
            self._fetched_at = self._clock()
            return
        document = await self._documents.get(self._metadata.jwks_uri)
        keys = _published_keys(document, policy.algorithms)
        if not keys:
            raise IssuerUnavailable("the key set has no key this API can verify with")
        if set(keys) != set(self._keys):
            logger.info("Issuer keys now: %s", ", ".join(sorted(str(kid) for kid in keys)))
        self._keys = keys
        self._fetched_at = self._clock()

    @asynccontextmanager
    async def kept_fresh(self) -> AsyncIterator[None]:
        """While the application runs: the first fetch (before the first request when the issuer
        answers, so that an instance starts ready), retried until the issuer answers, then a refresh
        every JWKS_REFRESH_SECONDS (retried sooner while the issuer does not answer). Nothing at all
        when nothing of the issuer's is used."""
        if not self._policy.uses_issuer:
            yield
            return
        try:
            await self.refresh()
        except IssuerUnavailable as exc:
            logger.warning("The issuer's keys could not be fetched (%s); not ready until they are", exc)
        task = asyncio.create_task(self._refresh_forever(fetched=self.loaded()), name="issuer keys")
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _refresh_forever(self, *, fetched: bool) -> None:
        retry = FIRST_RETRY_SECONDS
        if fetched:
            await asyncio.sleep(self._policy.refresh_seconds)
        while True:
            try:
                await self.refresh()
            except IssuerUnavailable as exc:
                logger.warning("The issuer's keys could not be fetched (%s); retrying in %.0f s", exc, retry)
                await asyncio.sleep(retry)
                retry = min(retry * 2, LAST_RETRY_SECONDS, self._policy.refresh_seconds)
                continue
            retry = FIRST_RETRY_SECONDS
            await asyncio.sleep(self._policy.refresh_seconds)


def _published_keys(document: dict[str, Any], allowed: frozenset[str] | None) -> dict[str | None, PublishedKey]:
    """The signing keys of a JWK set this API can use; others (encryption keys, unknown types, keys for
    algorithms not allowed, private parts) are left out, and a malformed set has none."""
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise IssuerUnavailable("the key set has no `keys` array")
    keys: dict[str | None, PublishedKey] = {}
    for entry in entries[:MAX_KEYS]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "d" in entry:
            continue
        algorithms = algorithms_for_key(entry, allowed)
        kid = entry.get("kid")
        if not algorithms or not (kid is None or isinstance(kid, str)) or kid in keys:
            continue
        try:
            key = JWKRegistry.import_key(entry)
        except (JoseError, ValueError, TypeError):
            continue
        keys[kid] = PublishedKey(kid, key, algorithms, key.thumbprint())
    return keys
