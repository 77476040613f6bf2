"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client whose
client_id is an https URL describes itself in the JSON document at that URL.

The document is fetched when the client is first used, checked as a client the operator registers
is checked, and stored as a public client (`registered_by` "metadata") for as long as its
Cache-Control allows, within the settings' bounds; then fetched again. The fetch itself is
`outbound.json_documents`': public addresses only, small, quick, and seldom per host.
"""

import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from ..config import LOOPBACK_HOSTS, Settings
from ..outbound.json_documents import FetchRefused, HostBusy, JsonDocument, JsonFetcher
from ..storage.models import Client
from . import redirect_uris
from .clients import (
    CLIENT_ID_LENGTH,
    METADATA,
    RESOURCE_SCOPES,
    NewClient,
    delete_unused_clients,
    get_client,
    save_metadata_client,
    unused_cutoff,
)
from .resources import declared_scopes
from .scopes import MCP_SCOPES, SCOPES

# A client's description is a few hundred bytes; this leaves room, and no more.
MAX_DOCUMENT_BYTES = 16 * 1024
# The grants a client without a secret may use here.
DOCUMENT_GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})
MAX_URIS = 20
# Unused clients deleted each time a document not seen before is stored, at most: as a registration does.
UNUSED_CLIENTS_PER_NEW_DOCUMENT = 100


class ClientDocumentRefused(Exception):
    """The client_id names a metadata document that cannot be used; the message says why, for a user."""


class ClientDocument(BaseModel):
    """The parts of a metadata document (RFC 7591 §2 client metadata) this service reads; others are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True)

    client_id: str
    client_name: str | None = Field(default=None, min_length=1, max_length=150)
    redirect_uris: list[str] = Field(min_length=1, max_length=MAX_URIS)
    post_logout_redirect_uris: list[str] = Field(default=[], max_length=MAX_URIS)
    grant_types: list[str] = Field(default=["authorization_code"], min_length=1, max_length=len(DOCUMENT_GRANT_TYPES))
    response_types: list[Literal["code"]] = Field(default=["code"], min_length=1, max_length=1)
    # Without keys published, a client has no way to authenticate: it is a public client, with PKCE.
    token_endpoint_auth_method: Literal["none"] = "none"
    scope: str | None = Field(default=None, max_length=1000)
    client_uri: str | None = None
    logo_uri: str | None = None

    @field_validator("grant_types")
    @classmethod
    def _public_grant_types(cls, grant_types: list[str]) -> list[str]:
        if not set(grant_types) <= DOCUMENT_GRANT_TYPES or "authorization_code" not in grant_types:
            raise ValueError("grant_types must be authorization_code, and refresh_token if wanted")
        return grant_types

    @field_validator("client_uri", "logo_uri")
    @classmethod
    def _web_address(cls, uri: str | None) -> str | None:
        if uri is not None and redirect_uris.problem(uri) is not None:
            raise ValueError("must be an https URL")
        return uri


def is_document_url(client_id: str) -> bool:
    """Whether CLIENT_ID is meant as a metadata document's address (no other client id holds a colon)."""
    return client_id.startswith(("https://", "http://"))


def document_host(client: Client) -> str | None:
    """The host whose document describes CLIENT, unverified by the operator; None for a registered client."""
    if client.registered_by != METADATA:
        return None
    host = urlsplit(client.client_id).hostname
    return None if host is None else redirect_uris.shown_host(host)


def url_problem(client_id: str, *, allow_loopback_http: bool) -> str | None:
    """Why CLIENT_ID cannot be a metadata document's address, or None when it can: an https URL with
    a path and without credentials, fragment or dot segments (http too on loopback, in development)."""
    if len(client_id) > CLIENT_ID_LENGTH:
        return f"is longer than {CLIENT_ID_LENGTH} characters"
    if any(character.isspace() or not character.isprintable() for character in client_id):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(client_id)
        parts.port  # noqa: B018 (a port that is not a number in range raises here)
    except ValueError:
        return "is not a valid URL"
    loopback_http = allow_loopback_http and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if parts.scheme != "https" and not loopback_http:
        return "is not an https URL"
    if not parts.hostname:
        return "names no host"
    if parts.username is not None or parts.password is not None or "#" in client_id:
        return "carries credentials or a fragment"
    if parts.path in {"", "/"}:
        return "has no path"
    if {".", ".."} & set(parts.path.split("/")):
        return "has . or .. in its path"
    return None


def metadata_fetcher(settings: Settings) -> JsonFetcher | None:
    """The fetcher of metadata documents SETTINGS ask for, if any; loopback addresses only in development."""
    if not settings.client_metadata_documents:
        return None
    return JsonFetcher(
        allow_loopback=settings.is_development,
        timeout_seconds=settings.client_metadata_timeout_seconds,
        per_host_per_minute=settings.client_metadata_fetches_per_minute,
        max_bytes=MAX_DOCUMENT_BYTES,
    )


class ClientDocuments:
    """Looks clients up by client_id: registered ones in the table, the others at their document's URL."""

    def __init__(self, settings: Settings, fetcher: JsonFetcher | None, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        # None when CLIENT_METADATA_DOCUMENTS is off: no document is fetched, and none stored is used.
        self.fetcher = fetcher
        self.clock = clock

    async def client(self, session: AsyncSession, client_id: str) -> Client | None:
        """The client CLIENT_ID names, or None when there is none. A metadata document's client is
        the one stored while it is fresh, and fetched again after; `ClientDocumentRefused` when that
        document cannot be used (nothing is stored then). A self-registered client unused for too long
        is none (`clients.unused_cutoff`)."""
        client = await get_client(session, client_id, unused_before=unused_cutoff(self.settings, self.clock()))
        if client is not None and client.registered_by != METADATA:
            return client
        if self.fetcher is None or not is_document_url(client_id):
            return None
        if client is not None and (client.metadata_fresh_until or 0) > self.clock():
            return client
        problem = url_problem(client_id, allow_loopback_http=self.settings.is_development)
        if problem is not None:
            raise ClientDocumentRefused(f"its client_id {problem}")
        try:
            document = await self.fetcher.fetch(client_id)
        except HostBusy:
            if client is None:
                raise ClientDocumentRefused("its host has been asked too often; try again later") from None
            # Anyone may ask for documents on a client's host until its limit is reached: the copy
            # stored last is used meanwhile, or anyone could lock a client out by asking.
            return client
        except FetchRefused as refused:
            raise ClientDocumentRefused(str(refused)) from None
        new_client = await _new_client(session, client_id, document.content)
        if client is None:
            # Anyone may name a document of theirs: its row, like a registration's, goes when unused.
            cutoff = unused_cutoff(self.settings, self.clock())
            await delete_unused_clients(session, cutoff, UNUSED_CLIENTS_PER_NEW_DOCUMENT)
        saved = await save_metadata_client(session, client_id, new_client, self._fresh_until(document))
        if saved is None:
            raise ClientDocumentRefused("another client holds its client_id")
        return saved

    def _fresh_until(self, document: JsonDocument) -> int:
        """Now, and as long as the document may be cached, at least the least and at most the most allowed."""
        least, most = self.settings.client_metadata_min_cache_seconds, self.settings.client_metadata_max_cache_seconds
        seconds = least if document.max_age is None else min(max(document.max_age, least), most)
        return int(self.clock()) + seconds


async def _new_client(session: AsyncSession, client_id: str, content: dict[str, Any]) -> NewClient:
    """The document checked: its own client_id, then what any client must be (`NewClient`)."""
    if content.get("client_id") != client_id:
        raise ClientDocumentRefused("the document's client_id is not the address it was fetched from")
    if "client_secret" in content:
        # The document is public: a secret in it is known to anyone.
        raise ClientDocumentRefused("the document carries a client_secret")
    try:
        document = ClientDocument.model_validate(content)
        resource_scopes = await declared_scopes(session)
        # Without `scope`, the client may ask for any scope: each user still approves what it gets.
        scopes = (
            sorted(SCOPES.keys() | MCP_SCOPES.keys() | resource_scopes)
            if document.scope is None
            else document.scope.split()
        )
        return NewClient.model_validate(
            {
                "name": document.client_name or redirect_uris.shown_host(urlsplit(client_id).hostname or ""),
                "public": True,
                "redirect_uris": document.redirect_uris,
                "post_logout_redirect_uris": document.post_logout_redirect_uris,
                "grant_types": document.grant_types,
                "scopes": scopes,
            },
            context={RESOURCE_SCOPES: resource_scopes},
        )
    except ValidationError as exc:
        raise ClientDocumentRefused(f"the document is not a valid client description ({_first_error(exc)})") from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"[:200] if where else str(error["msg"])[:200]
