"""Fetching a small JSON document from a URL someone else named: public addresses only, no redirect,
a bounded size and time, and a bounded rate per host."""

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx

from ..config import LOOPBACK_HOSTS
from .host_limits import HostLimits
from .public_network import PublicTransport

# Connections open at once for every fetch together; a fetch waits for one within its time.
MAX_CONNECTIONS = 20
USER_AGENT = "client-metadata-fetcher"


class FetchRefused(Exception):
    """The document cannot be had, or is no JSON object; the message says why, in words a user can read."""


class HostBusy(FetchRefused):
    """The host was asked as often as it may be this minute: nothing was asked of it."""


@dataclass(frozen=True, slots=True)
class JsonDocument:
    content: dict[str, Any]
    # Cache-Control's max-age in seconds: 0 for no-store or no-cache, None when the server says nothing.
    max_age: int | None


class JsonFetcher:
    """Fetches JSON objects of at most MAX_BYTES, each within TIMEOUT_SECONDS in all, at most
    PER_HOST_PER_MINUTE from one host. Only https, on public addresses; with ALLOW_LOOPBACK (in
    development) loopback addresses too, over http as well. Callers that ask for a URL being
    fetched already share that fetch."""

    def __init__(
        self, *, allow_loopback: bool, timeout_seconds: float, per_host_per_minute: int, max_bytes: int
    ) -> None:
        self.allow_loopback = allow_loopback
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        self.host_limits = HostLimits(per_host_per_minute)
        self._fetching: dict[str, asyncio.Task[JsonDocument]] = {}
        self._client: httpx.AsyncClient | None = None

    def _made_client(self) -> httpx.AsyncClient:
        """The client, made at the first fetch: its TLS context reads the whole trust store (tens of
        milliseconds), which most runs of the service never need."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=PublicTransport(allow_loopback=self.allow_loopback, max_connections=MAX_CONNECTIONS),
                follow_redirects=False,
                trust_env=False,
                timeout=self.timeout_seconds,
                # A compressed body could be far larger than it looks: none is asked for, and none accepted.
                headers={"Accept": "application/json", "Accept-Encoding": "identity", "User-Agent": USER_AGENT},
            )
        return self._client

    async def aclose(self) -> None:
        for fetching in list(self._fetching.values()):
            fetching.cancel()
        if self._client is not None:
            await self._client.aclose()

    async def fetch(self, url: str) -> JsonDocument:
        """The JSON object at URL; `FetchRefused` when it cannot be had."""
        host = self._checked_host(url)
        fetching = self._fetching.get(url)
        if fetching is None:
            if not self.host_limits.allow(host):
                raise HostBusy(f"{host} has been asked too often in the last minute; try again later")
            fetching = asyncio.create_task(self._fetch_in_time(url, host))
            self._fetching[url] = fetching
            fetching.add_done_callback(lambda done: self._finished(url, done))
        # Shielded: a caller that goes away leaves the fetch to the others who wait for it.
        return await asyncio.shield(fetching)

    def _finished(self, url: str, done: "asyncio.Task[JsonDocument]") -> None:
        self._fetching.pop(url, None)
        if not done.cancelled():
            done.exception()  # each waiter has it; without waiters it is not worth a warning

    async def _fetch_in_time(self, url: str, host: str) -> JsonDocument:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._fetch(url)
        except TimeoutError:
            raise FetchRefused(f"{host} did not answer within {self.timeout_seconds:g} seconds") from None
        except httpx.HTTPError as exc:
            raise FetchRefused(f"it could not be fetched ({_first_line(exc)})") from None

    def _checked_host(self, url: str) -> str:
        try:
            parts = httpx.URL(url)
        except httpx.InvalidURL:
            raise FetchRefused("its address is not a valid URL") from None
        loopback_http = parts.scheme == "http" and self.allow_loopback and parts.host in LOOPBACK_HOSTS
        if parts.scheme != "https" and not loopback_http:
            raise FetchRefused("its address is not an https URL")
        if not parts.host:
            raise FetchRefused("its address names no host")
        return parts.host

    async def _fetch(self, url: str) -> JsonDocument:
        async with self._made_client().stream("GET", url) as response:
            if response.is_redirect:
                raise FetchRefused("its address redirects elsewhere, which is not followed")
            if response.status_code != httpx.codes.OK:
                raise FetchRefused(f"its address answered {response.status_code}, not 200")
            media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
            if media_type != "application/json":
                raise FetchRefused("its address did not answer with application/json")
            if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
                raise FetchRefused("its address answered with a compressed body")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchRefused(f"the document is larger than {self.max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > self.max_bytes:
                    # Read no further: the rest is never downloaded.
                    raise FetchRefused(f"the document is larger than {self.max_bytes} bytes")
            cache_control = response.headers.get("cache-control", "")
        return JsonDocument(_json_object(bytes(body)), _max_age(cache_control))


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        content = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FetchRefused("the document is not JSON") from None
    if not isinstance(content, dict):
        raise FetchRefused("the document is not a JSON object")
    return content


def _max_age(cache_control: str) -> int | None:
    """Seconds a response may be reused for, by its Cache-Control header (RFC 9111 §5.2.2)."""
    max_age = None
    for directive in cache_control.lower().split(","):
        name, _, value = directive.strip().partition("=")
        if name in {"no-store", "no-cache"}:
            return 0
        if name == "max-age":
            value = value.strip().strip('"')
            # A number too long to mean anything but "long" is read as a very long time.
            max_age = int(value[:10]) if value.isdigit() and value.isascii() else 0
    return max_age


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
