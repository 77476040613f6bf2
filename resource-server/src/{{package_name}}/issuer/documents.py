"""Fetching the issuer's JSON documents (its metadata and key set): bounded in time and size, no
redirects, and no proxy from the environment; tests hand in a transport of their own."""

import asyncio
import base64
import json
from typing import Any
from urllib.parse import quote_plus

import httpx

# A key set with a few dozen keys, or metadata with every optional member, is far smaller.
MAX_DOCUMENT_BYTES = 256 * 1024
# An introspection answer is a handful of claims; the API keeps up to a thousand of them.
MAX_ANSWER_BYTES = 32 * 1024


class IssuerUnavailable(Exception):
    """The issuer did not answer with the document: unreachable, too slow, an error status, or not JSON."""


def refuse_constant(name: str) -> object:
    """`json.loads` takes NaN and Infinity, which JSON (RFC 8259) does not have: a time that is never
    reached, or a number no comparison holds for."""
    raise ValueError(f"{name} is not JSON")


class JsonDocuments:
    """A client for the issuer's documents; one per process, closed when the application stops."""

    def __init__(self, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._timeout_seconds = timeout_seconds
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    async def get(self, url: str) -> dict[str, Any]:
        """The JSON object at URL; IssuerUnavailable, naming why, for anything else."""
        return await self._json(self._client.build_request("GET", url), MAX_DOCUMENT_BYTES)

    async def post_form(self, url: str, form: dict[str, str], client: tuple[str, str]) -> dict[str, Any]:
        """The JSON object the issuer answers to FORM, posted with the CLIENT's id and secret in HTTP Basic
        authentication, each form-encoded first (RFC 6749 §2.3.1)."""
        credentials = ":".join(quote_plus(part) for part in client)
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
        return await self._json(
            self._client.build_request("POST", url, data=form, headers={"Authorization": authorization}),
            MAX_ANSWER_BYTES,
        )

    async def _json(self, request: httpx.Request, limit: int) -> dict[str, Any]:
        url = str(request.url)
        try:
            # httpx's timeout bounds each read, not the whole: an issuer sending a byte now and then would
            # hold the fetch (and every request waiting on it, and the next refresh) for ever.
            async with asyncio.timeout(self._timeout_seconds):
                body = await self._body(request, url, limit)
        except TimeoutError:
            raise IssuerUnavailable(f"{url} took longer than {self._timeout_seconds:g} s") from None
        try:
            document = json.loads(body, parse_constant=refuse_constant)
        except (ValueError, RecursionError):
            raise IssuerUnavailable(f"{url} is not JSON") from None
        if not isinstance(document, dict):
            raise IssuerUnavailable(f"{url} is not a JSON object")
        return document

    async def _body(self, request: httpx.Request, url: str, limit: int) -> bytearray:
        try:
            response = await self._client.send(request, stream=True)
            try:
                if response.status_code != httpx.codes.OK:
                    raise IssuerUnavailable(f"{url} answered {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise IssuerUnavailable(f"{url} is larger than {limit} bytes")
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise IssuerUnavailable(f"{url}: {type(exc).__name__}") from None
        return body

    async def aclose(self) -> None:
        await self._client.aclose()
