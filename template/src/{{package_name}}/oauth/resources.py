"""Registered resources (RFC 8707): which URIs may name one, and the only module that reads or
writes the resources table.

A resource is an API other than this service's own that accepts its access tokens. It declares
its scopes: any scope tokens (RFC 6749 §3.3), known here or not, requestable for it alone.
"""

import re

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..storage.database import can_hold, end_read
from ..storage.models import Resource
from . import redirect_uris
from .scopes import ADMIN_SCOPES

# The resources table's limit.
MAX_URI_LENGTH = 255
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
MAX_SCOPE_LENGTH = 100
# The resources table's limit on a resource's scopes, space-separated.
MAX_SCOPES_LENGTH = 1000


class ResourceExistsError(Exception):
    """A resource with this URI is registered already."""


def problem(uri: str) -> str | None:
    """Why `uri` cannot indicate a resource, or None when it can: an absolute https URI (http for a
    loopback host), without a fragment (RFC 8707 §2) or credentials, and short enough to store."""
    if len(uri) > MAX_URI_LENGTH:
        return f"is longer than {MAX_URI_LENGTH} characters"
    # The same URI rules as a redirect URI's: the same kind of address, checked the same way.
    return redirect_uris.problem(uri)


class NewResource(BaseModel):
    """What it takes to register a resource; `create-resource` checks it."""

    uri: str
    name: str = Field(min_length=1, max_length=150)
    scopes: list[str] = []

    @field_validator("uri")
    @classmethod
    def _valid_uri(cls, uri: str) -> str:
        if (why := problem(uri)) is not None:
            raise ValueError(f"the resource URI {uri!r} {why}")
        return uri

    @field_validator("scopes")
    @classmethod
    def _valid_scopes(cls, scopes: list[str]) -> list[str]:
        for scope in scopes:
            if len(scope) > MAX_SCOPE_LENGTH or not SCOPE_TOKEN.fullmatch(scope):
                rule = f"at most {MAX_SCOPE_LENGTH} printable ASCII characters, without space, quote or backslash"
                raise ValueError(f"{scope!r} is not a scope (RFC 6749 §3.3): {rule}")
        if reserved := set(scopes) & ADMIN_SCOPES.keys():
            raise ValueError(
                f"{' '.join(sorted(reserved))} is this service's operator scope: a resource cannot declare it"
            )
        if len(" ".join(set(scopes))) > MAX_SCOPES_LENGTH:
            raise ValueError(f"the scopes are longer than {MAX_SCOPES_LENGTH} characters in all")
        return scopes


async def create_resource(session: AsyncSession, new_resource: NewResource) -> Resource:
    resource = Resource(uri=new_resource.uri, name=new_resource.name, scopes=" ".join(sorted(set(new_resource.scopes))))
    session.add(resource)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ResourceExistsError(new_resource.uri) from None
    return resource


async def get_resource(session: AsyncSession, uri: str) -> Resource | None:
    # A request may name any URI; no resource has one the table could not hold.
    if len(uri) > MAX_URI_LENGTH or not can_hold(uri):
        return None
    resource: Resource | None = await session.scalar(select(Resource).where(Resource.uri == uri))
    await end_read(session)
    # Compared to the letter (RFC 8707 names resources by exact URI): MySQL's collation ignores case.
    return resource if resource is not None and resource.uri == uri else None


async def list_resources(session: AsyncSession) -> list[Resource]:
    resources = list(await session.scalars(select(Resource).order_by(Resource.uri)))
    await end_read(session)
    return resources


async def delete_resource(session: AsyncSession, uri: str) -> bool:
    """Forget the resource at URI; whether there was one. Tokens already issued for it live on until they expire."""
    # Found first, to the letter, as a request finds it.
    resource = await get_resource(session, uri)
    if resource is None:
        return False
    deleted = await session.execute(delete(Resource).where(Resource.id == resource.id))
    await session.commit()
    return bool(getattr(deleted, "rowcount", 0))


async def declared_scopes(session: AsyncSession) -> frozenset[str]:
    """Every scope some registered resource declares: what a client may be registered for besides the own API's.
    Never the operator's scope, which a resource registered before it was reserved may still declare: a client
    could otherwise register itself for it."""
    rows = await session.scalars(select(Resource.scopes))
    scopes = frozenset(scope for row in rows for scope in row.split()) - ADMIN_SCOPES.keys()
    await end_read(session)
    return scopes
