"""Registered OAuth2 clients: the only module that reads or writes the clients table."""

import hashlib
import hmac
import secrets

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from ..storage.database import can_hold, end_read
from ..storage.models import Client
from ..tokens.id_tokens import ALGORITHMS as ID_TOKEN_ALGORITHMS
from ..tokens.id_tokens import DEFAULT_ALGORITHM
from . import redirect_uris
from .grants.supported import GRANT_TYPES
from .scopes import SCOPES

# The validation context's key for the scopes registered resources declare.
RESOURCE_SCOPES = "resource_scopes"
# The clients table's limit: a longer client_id cannot exist.
CLIENT_ID_LENGTH = 255


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
        # The own API's scopes, and those registered resources declare (validated with the context
        # {RESOURCE_SCOPES: ...}, from oauth/resources.py's `declared_scopes`).
        declared = (info.context or {}).get(RESOURCE_SCOPES, frozenset())
        unknown = set(scopes) - set(SCOPES) - declared
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


async def create_client(session: AsyncSession, new_client: NewClient) -> tuple[Client, str | None]:
    """Register the client; return it with its secret, which is shown once and stored only hashed."""
    secret = None if new_client.public else secrets.token_urlsafe(32)
    client = Client(
        client_id=secrets.token_urlsafe(16),
        name=new_client.name,
        secret_hash=None if secret is None else hash_secret(secret),
        redirect_uris=" ".join(new_client.redirect_uris),
        grant_types=" ".join(sorted(set(new_client.grant_types))),
        scopes=" ".join(sorted(set(new_client.scopes))),
        may_introspect=new_client.may_introspect,
        post_logout_redirect_uris=" ".join(new_client.post_logout_redirect_uris),
        id_token_signed_response_alg=new_client.id_token_signed_response_alg,
    )
    session.add(client)
    await session.commit()
    return client, secret


async def save_metadata_client(
    session: AsyncSession, client_id: str, new_client: NewClient, fresh_until: int
) -> Client | None:
    """Store the public client a metadata document at CLIENT_ID describes, new or changed, taken as
    fetched until FRESH_UNTIL (unix seconds); None when a client of another kind holds the id."""
    values = {
        "name": new_client.name,
        "redirect_uris": " ".join(new_client.redirect_uris),
        "grant_types": " ".join(sorted(set(new_client.grant_types))),
        "scopes": " ".join(sorted(set(new_client.scopes))),
        "post_logout_redirect_uris": " ".join(new_client.post_logout_redirect_uris),
        "metadata_fresh_until": fresh_until,
    }
    existing = await get_client(session, client_id)
    if existing is not None:
        if existing.registered_by != "metadata":
            return None
        for name, value in values.items():
            setattr(existing, name, value)
        try:
            await session.commit()
        except StaleDataError:  # deleted meanwhile
            await session.rollback()
            return None
        return existing
    client = Client(client_id=client_id, registered_by="metadata", secret_hash=None, **values)
    session.add(client)
    try:
        await session.commit()
    except IntegrityError:
        # Another request stored it first, having fetched the same document at the same time.
        await session.rollback()
        existing = await get_client(session, client_id)
        return existing if existing is not None and existing.registered_by == "metadata" else None
    return client


async def get_client(session: AsyncSession, client_id: str) -> Client | None:
    # A request may name any client id; no client has one the table could not hold.
    if len(client_id) > CLIENT_ID_LENGTH or not can_hold(client_id):
        return None
    client: Client | None = await session.scalar(select(Client).where(Client.client_id == client_id))
    await end_read(session)
    # MySQL compares without regard to case or trailing spaces; a client id is exact.
    return client if client is not None and client.client_id == client_id else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(client: Client, secret: str) -> bool:
    return client.secret_hash is not None and hmac.compare_digest(client.secret_hash, hash_secret(secret))
