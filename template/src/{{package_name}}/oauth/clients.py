"""Registered OAuth2 clients: the only module that reads or writes the clients table."""

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from ..audit import trail as audit
from ..config import Settings
from ..storage.database import can_hold, end_read
from ..storage.models import Client
from ..tokens.id_tokens import ALGORITHMS as ID_TOKEN_ALGORITHMS
from ..tokens.id_tokens import DEFAULT_ALGORITHM
from . import redirect_uris
from .grants.supported import GRANT_TYPES
from .scopes import ADMIN_SCOPES, MCP_SCOPES, SCOPES

# The validation context's key for the scopes registered resources declare.
RESOURCE_SCOPES = "resource_scopes"
# The validation context's key that an operator registers the client (`create-client`, the admin API):
# only then may it be allowed the admin scope.
BY_OPERATOR = "by_operator"
# The clients table's limit: a longer client_id cannot exist.
CLIENT_ID_LENGTH = 255
# What any client id is made of: a generated one, or the URL of a metadata document (printable ASCII).
CLIENT_ID_PATTERN = r"^[!-~]+$"
# Who registered a client (the `registered_by` column): an operator with `create-client`, or the
# client itself (RFC 7591). Only the latter manage themselves, and expire unused.
OPERATOR = "operator"
SELF = "self"
METADATA = "metadata"
SECONDS_PER_DAY = 86400
# How stale a self-registered client's last use may be: noted at most once an hour, so a busy
# client's token requests do not each write its row.
LAST_USE_PRECISION_SECONDS = 3600


class NewClient(BaseModel):
    """What it takes to register a client; `create-client` checks it."""

    name: str = Field(min_length=1, max_length=150)
    public: bool = False
    redirect_uris: list[str] = []
    grant_types: list[str] = ["authorization_code", "refresh_token"]
    scopes: list[str] = []
    may_introspect: bool = False
    post_logout_redirect_uris: list[str] = []
    id_token_signed_response_alg: str = DEFAULT_ALGORITHM

    @field_validator("name")
    @classmethod
    def _printable_name(cls, name: str) -> str:
        # Shown to users on the consent page, and stored: no control characters, no lone surrogates.
        if not name.isprintable():
            raise ValueError("the name contains control characters")
        return name

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _valid_redirect_uris(cls, uris: list[str]) -> list[str]:
        for uri in uris:
            if (problem := redirect_uris.problem(uri)) is not None:
                raise ValueError(f"the redirect URI {uri!r} {problem}")
        return uris

    @field_validator("grant_types")
    @classmethod
    def _known_grant_types(cls, grant_types: list[str]) -> list[str]:
        unknown = set(grant_types) - GRANT_TYPES
        if unknown:
            raise ValueError(f"unknown grant types: {' '.join(sorted(unknown))}")
        return grant_types

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: list[str], info: ValidationInfo) -> list[str]:
        # The own API's scopes, the MCP endpoint's, and those registered resources declare (validated
        # with the context {RESOURCE_SCOPES: ...}, from oauth/resources.py's `declared_scopes`); the admin
        # scope only for an operator's client ({BY_OPERATOR: True}). To a client that registers itself,
        # `admin` is a scope this service does not know.
        context = info.context or {}
        declared = context.get(RESOURCE_SCOPES, frozenset())
        operators = frozenset(ADMIN_SCOPES) if context.get(BY_OPERATOR) else frozenset()
        unknown = set(scopes) - set(SCOPES) - set(MCP_SCOPES) - declared - operators
        if unknown:
            raise ValueError(f"unknown scopes: {' '.join(sorted(unknown))}")
        return scopes

    @field_validator("id_token_signed_response_alg")
    @classmethod
    def _offered_algorithm(cls, algorithm: str) -> str:
        if algorithm not in ID_TOKEN_ALGORITHMS:
            raise ValueError(f"ID tokens are signed with {' or '.join(ID_TOKEN_ALGORITHMS)}, not {algorithm}")
        return algorithm

    @model_validator(mode="after")
    def _consistent(self) -> "NewClient":
        if "authorization_code" in self.grant_types and not self.redirect_uris:
            raise ValueError("the authorization_code grant needs at least one redirect URI")
        if self.public and {"client_credentials", "password"} & set(self.grant_types):
            raise ValueError("a public client cannot use the client_credentials or password grants")
        if self.public and self.may_introspect:
            raise ValueError("a public client cannot introspect tokens: it has no secret to authenticate with")
        return self


@dataclass(frozen=True, slots=True)
class SelfRegistered:
    """A client that registered itself, with its credentials: shown once, stored only hashed."""

    client: Client
    secret: str | None
    registration_token: str


async def create_client(session: AsyncSession, new_client: NewClient) -> tuple[Client, str | None]:
    """Register the client; return it with its secret, which is shown once and stored only hashed."""
    client, secret = _new_client(new_client)
    session.add(client)
    await session.commit()
    _record_change("client.created", client)
    return client, secret


async def create_self_registered_client(session: AsyncSession, new_client: NewClient, now: int) -> SelfRegistered:
    """Register a client that asked to be (RFC 7591), with the token it manages itself with (RFC 7592).
    Its creation counts as its first use, from which its unused time runs."""
    client, secret = _new_client(new_client)
    registration_token = secrets.token_urlsafe(32)
    client.registered_by = SELF
    client.registration_token_hash = hash_secret(registration_token)
    client.created_at = datetime.fromtimestamp(now, UTC).replace(tzinfo=None)
    client.last_used_at = now
    session.add(client)
    await session.commit()
    _record_change("client.created", client)
    return SelfRegistered(client, secret, registration_token)


def _new_client(new_client: NewClient) -> tuple[Client, str | None]:
    secret, secret_hash = (None, None) if new_client.public else new_secret()
    client = Client(
        client_id=secrets.token_urlsafe(16),
        secret_hash=secret_hash,
        # Set here, not by the database: MySQL could not return it with the row, and reading it later would
        # mean another query.
        created_at=datetime.now(UTC).replace(tzinfo=None),
        **metadata_columns(new_client),
    )
    return client, secret


def metadata_columns(new_client: NewClient) -> dict[str, Any]:
    """The columns NEW_CLIENT's metadata fills: all of them but the secret's."""
    return {
        "name": new_client.name,
        "redirect_uris": " ".join(new_client.redirect_uris),
        "grant_types": " ".join(sorted(set(new_client.grant_types))),
        "scopes": " ".join(sorted(set(new_client.scopes))),
        "may_introspect": new_client.may_introspect,
        "post_logout_redirect_uris": " ".join(new_client.post_logout_redirect_uris),
        "id_token_signed_response_alg": new_client.id_token_signed_response_alg,
    }


async def save_metadata_client(
    session: AsyncSession, client_id: str, new_client: NewClient, fresh_until: int
) -> Client | None:
    """Store the public client a metadata document at CLIENT_ID describes, new or changed, taken as
    fetched until FRESH_UNTIL (unix seconds); None when a client of another kind holds the id."""
    values = {**metadata_columns(new_client), "metadata_fresh_until": fresh_until}
    # Any client of another kind holds the id: none of them expires unused.
    existing = await get_client(session, client_id, unused_before=0)
    if existing is not None:
        if existing.registered_by != METADATA:
            return None
        for name, value in values.items():
            setattr(existing, name, value)
        try:
            await session.commit()
        except StaleDataError:  # deleted meanwhile
            await session.rollback()
            return None
        return existing
    client = Client(client_id=client_id, registered_by=METADATA, secret_hash=None, **values)
    session.add(client)
    try:
        await session.commit()
    except IntegrityError:
        # Another request stored it first, having fetched the same document at the same time.
        await session.rollback()
        existing = await get_client(session, client_id, unused_before=0)
        return existing if existing is not None and existing.registered_by == METADATA else None
    _record_change("client.created", client)
    return client


class ClientChangedError(Exception):
    """The client was deleted, or its secret changed, while a replacement of its metadata was made."""


async def replace_metadata(session: AsyncSession, client: Client, new_client: NewClient) -> str | None:
    """Replace CLIENT's metadata with NEW_CLIENT's (RFC 7592 §2.2), CLIENT updated to match. A client
    that stays confidential keeps its secret; one that becomes confidential gets a secret, returned
    to be shown once; one that becomes public loses its secret. ClientChangedError when CLIENT is no
    longer as it was read: of concurrent replacements that issue a secret, one wins."""
    secret = None
    secret_hash = client.secret_hash
    if new_client.public:
        secret_hash = None
    elif secret_hash is None:
        secret, secret_hash = new_secret()
    values = {**metadata_columns(new_client), "secret_hash": secret_hash}
    as_read = Client.secret_hash.is_(None) if client.secret_hash is None else Client.secret_hash == client.secret_hash
    replaced = await session.execute(update(Client).where(Client.client_id == client.client_id, as_read).values(values))
    await session.commit()
    if not getattr(replaced, "rowcount", 0):
        raise ClientChangedError(client.client_id)
    # The row is written: the object only answers the request now.
    session.expunge(client)
    for column, value in values.items():
        setattr(client, column, value)
    _record_change("client.changed", client, secret_issued=secret is not None)
    return secret


async def delete_client(session: AsyncSession, client_id: str, *, actor: str | None = None) -> bool:
    """Delete the client, and with it every consent to it; whether there was one."""
    deleted = await session.execute(delete(Client).where(Client.client_id == client_id))
    await session.commit()
    if not getattr(deleted, "rowcount", 0):
        return False
    audit.record("client.deleted", actor=actor, subject=client_id, client_id=client_id)
    return True


async def find_clients(session: AsyncSession, *, after: str, limit: int) -> list[Client]:
    """Up to LIMIT clients whose ids sort after AFTER, in that order."""
    if not can_hold(after):
        return []
    clients = list(
        await session.scalars(select(Client).where(Client.client_id > after).order_by(Client.client_id).limit(limit))
    )
    await end_read(session)
    return clients


# What the admin API shows of a client and lets an operator change (with the secret, which it replaces).
ADMIN_COLUMNS = (
    "name",
    "redirect_uris",
    "grant_types",
    "scopes",
    "may_introspect",
    "post_logout_redirect_uris",
    "id_token_signed_response_alg",
    "secret_hash",
)


async def change_client_as_read(session: AsyncSession, client: Client, values: dict[str, Any]) -> bool:
    """Write VALUES to CLIENT's row unless it changed since CLIENT was read (ADMIN_COLUMNS), or went;
    whether it was written. Of two operators who read the same client, one wins."""
    as_read = [getattr(Client, column).is_not_distinct_from(getattr(client, column)) for column in ADMIN_COLUMNS]
    written = await session.execute(
        update(Client).where(Client.client_id == client.client_id, *as_read).values(**values)
    )
    await session.commit()
    if not getattr(written, "rowcount", 0):
        return False
    session.expunge(client)
    for column, value in values.items():
        setattr(client, column, value)
    _record_change("client.changed", client, secret_issued="secret_hash" in values)
    return True


def new_secret() -> tuple[str, str]:
    """A client secret, shown once, and its hash, which alone is stored."""
    secret = secrets.token_urlsafe(32)
    return secret, hash_secret(secret)


async def client_names(session: AsyncSession, client_ids: Iterable[str]) -> dict[str, str]:
    """The names of those of CLIENT_IDS that are registered, by id."""
    wanted = set(client_ids)
    if not wanted:
        return {}
    found = await session.execute(select(Client.client_id, Client.name).where(Client.client_id.in_(wanted)))
    return {client_id: name for client_id, name in found}


async def list_clients(session: AsyncSession) -> list[Client]:
    clients = list(await session.scalars(select(Client).order_by(Client.registered_by, Client.name, Client.client_id)))
    await end_read(session)
    return clients


def unused_cutoff(settings: Settings, now: float) -> int:
    """Unix seconds before which a self-registered client's last use leaves it unknown."""
    return int(now) - settings.self_registered_client_days * SECONDS_PER_DAY


def is_unused(client: Client, unused_before: int) -> bool:
    return client.registered_by == SELF and (client.last_used_at or 0) < unused_before


async def delete_unused_clients(session: AsyncSession, unused_before: int, limit: int) -> int:
    """Delete up to LIMIT clients unused since UNUSED_BEFORE; how many went: self-registered ones last
    used before, and those of metadata documents stale since before (a document in use is fetched
    again once stale, so it is stale for long only when unused). Their refresh tokens stop working
    with them: no unknown client authenticates."""
    stale = _unused(unused_before)
    chosen = list(await session.scalars(select(Client.client_id).where(stale).limit(limit)))
    if not chosen:
        await end_read(session)
        return 0
    # Checked again as they go: one used meanwhile stays.
    deleted = await session.execute(delete(Client).where(Client.client_id.in_(chosen), stale))
    await session.commit()
    count = int(getattr(deleted, "rowcount", 0))
    if count:
        audit.record("client.deleted", actor=audit.SYSTEM, detail={"unused_clients": count})
    return count


def _record_change(event_type: str, client: Client, *, secret_issued: bool = False) -> None:
    """What the client may do now: never its secret, which only its hash stands for."""
    detail: audit.Detail = {
        "registered_by": client.registered_by,
        "redirect_uris": client.redirect_uris.split(),
        "grant_types": client.grant_types.split(),
        "scopes": client.scopes.split(),
        "confidential": client.secret_hash is not None,
        "secret_issued": secret_issued,
    }
    audit.record(event_type, subject=client.client_id, client_id=client.client_id, detail=detail)


def _unused(unused_before: int) -> ColumnElement[bool]:
    # Without this, anyone could store a client row per document URL of theirs, never deleted.
    return or_(
        and_(Client.registered_by == SELF, Client.last_used_at < unused_before),
        and_(Client.registered_by == METADATA, Client.metadata_fresh_until < unused_before),
    )


async def note_client_use(session: AsyncSession, client: Client, now: int) -> None:
    """Record that a self-registered CLIENT got tokens now; nothing is written when its last use
    noted is recent, or for any other client."""
    if client.registered_by != SELF or (client.last_used_at or 0) > now - LAST_USE_PRECISION_SECONDS:
        return
    stale = or_(Client.last_used_at.is_(None), Client.last_used_at <= now - LAST_USE_PRECISION_SECONDS)
    await session.execute(update(Client).where(Client.client_id == client.client_id, stale).values(last_used_at=now))
    await session.commit()


async def get_client(session: AsyncSession, client_id: str, *, unused_before: int) -> Client | None:
    """The client CLIENT_ID names; None for an unknown one, and for a self-registered one last used
    before UNUSED_BEFORE (`unused_cutoff`), which is deleted in time."""
    # A request may name any client id; no client has one the table could not hold.
    if len(client_id) > CLIENT_ID_LENGTH or not can_hold(client_id):
        return None
    client: Client | None = await session.scalar(select(Client).where(Client.client_id == client_id))
    await end_read(session)
    # MySQL compares without regard to case or trailing spaces; a client id is exact.
    if client is None or client.client_id != client_id or is_unused(client, unused_before):
        return None
    return client


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(client: Client, secret: str) -> bool:
    return client.secret_hash is not None and hmac.compare_digest(client.secret_hash, hash_secret(secret))


def registration_token_matches(client: Client, token: str) -> bool:
    """Whether TOKEN is the registration access token of a self-registered CLIENT (RFC 7592)."""
    token_hash = client.registration_token_hash
    return (
        client.registered_by == SELF and token_hash is not None and hmac.compare_digest(token_hash, hash_secret(token))
    )
