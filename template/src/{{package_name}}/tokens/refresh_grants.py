"""The refresh grants of each user, for operators: noted as their refresh tokens are issued, listed
while they can still be refreshed, and forgotten once ended (tokens/revocation.py ends them)."""

import time
from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..storage.models import RefreshGrant
from ..storage.token_store import TokenStore
from .revocation import app_grant_is_withdrawn, grant_is_revoked


async def note_refresh_grant(
    session: AsyncSession,
    *,
    grant_id: str,
    username: str,
    client_id: str,
    scopes: frozenset[str],
    auth_time: int,
    granted_at: float,
    lifetime_seconds: int,
) -> None:
    """Record that the grant's newest refresh token was issued now and lives LIFETIME_SECONDS."""
    now = int(time.time())
    changes = {"refreshed_at": now, "expires_at": now + lifetime_seconds, "scopes": " ".join(sorted(scopes))}
    updated = await session.execute(update(RefreshGrant).where(RefreshGrant.grant_id == grant_id).values(**changes))
    if getattr(updated, "rowcount", 0) == 0:
        # A new grant (or one begun before grants were listed). The user's expired ones go as it comes.
        await session.execute(
            delete(RefreshGrant).where(RefreshGrant.username == username, RefreshGrant.expires_at <= now)
        )
        session.add(
            RefreshGrant(
                grant_id=grant_id,
                username=username,
                client_id=client_id,
                auth_time=auth_time,
                granted_at=int(granted_at),
                **changes,
            )
        )
    try:
        await session.commit()
    except IntegrityError:
        # Two refreshes of one unlisted grant at once, within the reuse grace period: the other noted it.
        await session.rollback()


async def refresh_grants_after(
    session: AsyncSession, username: str, after: str | None, count: int
) -> Sequence[RefreshGrant]:
    """Up to COUNT of the user's unexpired refresh grants, by id, after AFTER."""
    query = select(RefreshGrant).where(RefreshGrant.username == username, RefreshGrant.expires_at > int(time.time()))
    if after is not None:
        query = query.where(RefreshGrant.grant_id > after)
    return (await session.scalars(query.order_by(RefreshGrant.grant_id).limit(count))).all()


async def refresh_grant(session: AsyncSession, username: str, grant_id: str) -> RefreshGrant | None:
    """The user's unexpired refresh grant of that id."""
    return await session.scalar(
        select(RefreshGrant).where(
            RefreshGrant.grant_id == grant_id,
            RefreshGrant.username == username,
            RefreshGrant.expires_at > int(time.time()),
        )
    )


async def is_live(store: TokenStore, grant: RefreshGrant, credentials_changed_at: int) -> bool:
    """Whether the grant's refresh token still works: not revoked, its client's access not withdrawn
    since it began, and no password change or sign-out everywhere since its sign-in."""
    return (
        grant.auth_time > credentials_changed_at
        and not await grant_is_revoked(store, grant.grant_id)
        and not await app_grant_is_withdrawn(store, grant.username, grant.client_id, grant.granted_at)
    )


async def forget_refresh_grant(session: AsyncSession, grant_id: str) -> None:
    await session.execute(delete(RefreshGrant).where(RefreshGrant.grant_id == grant_id))
    await session.commit()
