"""External identities: which user an account at an upstream provider signs in as. Found by
(provider, issuer, subject) alone: an e-mail address only ever links when the operator allowed it
for a provider that vouches for the address (`auto_link_verified_email`)."""

import hashlib
import time

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import trail as audit
from ..storage.models import ExternalIdentity
from ..upstream_providers import UpstreamProvider


class IdentityTaken(Exception):
    """The provider's account is linked to another user already."""


def identity_key(provider: UpstreamProvider, subject: str) -> str:
    parts = (provider.name, provider.identity_issuer, subject)
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


async def find_identity(session: AsyncSession, provider: UpstreamProvider, subject: str) -> ExternalIdentity | None:
    return await session.get(ExternalIdentity, identity_key(provider, subject))


def new_identity(provider: UpstreamProvider, subject: str, username: str, email: str | None) -> ExternalIdentity:
    """The row that links the provider's account SUBJECT to USERNAME, not written yet."""
    now = int(time.time())
    return ExternalIdentity(
        identity_key=identity_key(provider, subject),
        provider=provider.name,
        issuer=provider.identity_issuer,
        subject=subject,
        username=username,
        email=email,
        linked_at=now,
        used_at=now,
    )


def record_link(provider: UpstreamProvider, username: str) -> None:
    audit.record(
        "identity.linked", actor=audit.on_behalf_of(username), subject=username, detail={"provider": provider.name}
    )


async def link_identity(
    session: AsyncSession, provider: UpstreamProvider, subject: str, username: str, email: str | None
) -> ExternalIdentity:
    """Link the provider's account SUBJECT to USERNAME; IdentityTaken when another user has it (or
    the same one, linked in another request at the same time)."""
    identity = new_identity(provider, subject, username, email)
    session.add(identity)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise IdentityTaken from None
    record_link(provider, username)
    return identity


async def note_use(session: AsyncSession, identity: ExternalIdentity, email: str | None) -> None:
    """A sign-in through IDENTITY: when, and the address the provider says it has now."""
    values = {"used_at": int(time.time()), "email": email}
    await session.execute(
        update(ExternalIdentity).where(ExternalIdentity.identity_key == identity.identity_key).values(**values)
    )
    await session.commit()


async def identities_of(session: AsyncSession, username: str) -> list[ExternalIdentity]:
    found = await session.scalars(
        select(ExternalIdentity).where(ExternalIdentity.username == username).order_by(ExternalIdentity.linked_at)
    )
    return list(found)


async def unlink_identity(session: AsyncSession, username: str, key: str) -> str | None:
    """Unlink USERNAME's identity KEY: the provider's name when this call did, else None (a made-up
    key, another user's, or one unlinked already)."""
    identity = await session.get(ExternalIdentity, key)
    if identity is None or identity.username != username:
        return None
    statement = delete(ExternalIdentity).where(ExternalIdentity.identity_key == key)
    result = await session.execute(statement)
    await session.commit()
    if getattr(result, "rowcount", 0) != 1:
        return None
    audit.record(
        "identity.unlinked",
        actor=audit.on_behalf_of(username),
        subject=username,
        detail={"provider": identity.provider},
    )
    return identity.provider


async def unlink_all(session: AsyncSession, username: str) -> None:
    """Unlink every provider of USERNAME: after a password reset, whoever holds the address holds the
    account, and may not be whoever linked them (an account made in another's name before they signed up)."""
    for identity in await identities_of(session, username):
        await unlink_identity(session, username, identity.identity_key)
