"""The refresh grants of each user, for operators and for the user's account page: noted as their refresh
tokens are issued, listed while they can still be refreshed, and ended one at a time.

Noting is bookkeeping, never a reason to fail: it runs after the refresh token was rotated, and a
client that got an error then would retry with its old token and have the grant revoked as reused."""

import contextlib
import logging
import re
import time
from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import trail as audit
from ..config import Settings
from ..storage.database import UNAVAILABLE_ERRORS
from ..storage.models import RefreshGrant, User
from ..storage.token_store import TokenStore
from .revocation import app_withdrawn_at, grant_lifetime_seconds, revoke_grant, revoked_grants

# A grant's last refresh is noted to the minute: a client refreshing more often writes nothing more.
REFRESH_PRECISION_SECONDS = 60
# Expired rows deleted with each new grant: bounded, so no request pays for a backlog.
EXPIRED_PER_NEW_GRANT = 20
# What the service makes grant ids of (22 URL-safe characters), with room to spare.
GRANT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

logger = logging.getLogger(__name__)


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
    new: bool,
) -> None:
    """Record that the grant's newest refresh token was issued now and lives LIFETIME_SECONDS; NEW
    for the first token of a grant (a login, an authorization code)."""
    now = int(time.time())
    changes = {"refreshed_at": now, "expires_at": now + lifetime_seconds, "scopes": " ".join(sorted(scopes))}
    insert = new
    try:
        if not new:
            stale = or_(
                RefreshGrant.refreshed_at <= now - REFRESH_PRECISION_SECONDS, RefreshGrant.scopes != changes["scopes"]
            )
            updated = await session.execute(
                update(RefreshGrant).where(RefreshGrant.grant_id == grant_id, stale).values(**changes)
            )
            # Noted, or noted a moment ago; else a grant begun before grants were listed, noted now.
            insert = getattr(updated, "rowcount", 0) == 0 and not await session.scalar(
                select(exists().where(RefreshGrant.grant_id == grant_id))
            )
        if insert:
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
        await session.commit()
    except (SQLAlchemyError, *UNAVAILABLE_ERRORS) as error:
        # Two refreshes of one unlisted grant at once, a deadlock, an outage: the tokens stand.
        await _roll_back(session)
        if not isinstance(error, IntegrityError):
            logger.warning("A refresh grant could not be noted: %s", type(error).__name__)
        return
    if insert:
        await _forget_expired(session, now)


def _may_be_live(now: int) -> ColumnElement[bool]:
    """Grants whose newest refresh token may still work: a refresh within the last minute may have gone
    unnoted, so a noted expiry up to a minute past is not yet the end."""
    return RefreshGrant.expires_at > now - REFRESH_PRECISION_SECONDS


async def _forget_expired(session: AsyncSession, now: int) -> None:
    """Delete a few expired grants, in a transaction of their own: a lock it waits for delays no token."""
    try:
        expired = list(
            await session.scalars(select(RefreshGrant.grant_id).where(~_may_be_live(now)).limit(EXPIRED_PER_NEW_GRANT))
        )
        if expired:
            await session.execute(delete(RefreshGrant).where(RefreshGrant.grant_id.in_(expired)))
        await session.commit()
    except (SQLAlchemyError, *UNAVAILABLE_ERRORS):
        await _roll_back(session)


async def _roll_back(session: AsyncSession) -> None:
    # On a connection that broke, there is nothing left to roll back.
    with contextlib.suppress(SQLAlchemyError, *UNAVAILABLE_ERRORS):
        await session.rollback()


async def refresh_grants_after(
    session: AsyncSession, username: str, after: str | None, count: int
) -> Sequence[RefreshGrant]:
    """Up to COUNT of the user's refresh grants that may still be refreshed, by id, after AFTER."""
    query = select(RefreshGrant).where(RefreshGrant.username == username, _may_be_live(int(time.time())))
    if after is not None:
        query = query.where(RefreshGrant.grant_id > after)
    return (await session.scalars(query.order_by(RefreshGrant.grant_id).limit(count))).all()


async def refresh_grant(session: AsyncSession, username: str, grant_id: str) -> RefreshGrant | None:
    """The user's refresh grant of exactly that id, while it may still be refreshed (a database may compare ids without case)."""
    found = await session.scalar(
        select(RefreshGrant).where(
            RefreshGrant.grant_id == grant_id,
            RefreshGrant.username == username,
            _may_be_live(int(time.time())),
        )
    )
    return found if found is not None and found.grant_id == grant_id else None


async def recent_refresh_grants(
    session: AsyncSession, username: str, count: int, skipped: int = 0
) -> Sequence[RefreshGrant]:
    """Up to COUNT of the user's refresh grants that may still be refreshed, the most recently refreshed first,
    after the first SKIPPED of them."""
    query = select(RefreshGrant).where(RefreshGrant.username == username, _may_be_live(int(time.time())))
    order = (RefreshGrant.refreshed_at.desc(), RefreshGrant.grant_id)
    return (await session.scalars(query.order_by(*order).offset(skipped).limit(count))).all()


async def live_grants(
    store: TokenStore, grants: Sequence[RefreshGrant], credentials_changed_at: int
) -> list[RefreshGrant]:
    """Those of a user's GRANTS whose refresh tokens still work: not revoked, their client's access not
    withdrawn since they began, and no password change or sign-out everywhere since their sign-in."""
    revoked = await revoked_grants(store, [grant.grant_id for grant in grants])
    # One look per client: a user's grants are mostly of a few.
    holders = {grant.client_id: grant.username for grant in grants}
    # A client never withdrawn as if withdrawn before any time: every grant of it began later.
    withdrawn_at = {
        client_id: await app_withdrawn_at(store, username, client_id) or -1.0 for client_id, username in holders.items()
    }
    return [
        grant
        for grant in grants
        if grant.auth_time > credentials_changed_at
        and grant.grant_id not in revoked
        and grant.granted_at > withdrawn_at[grant.client_id]
    ]


async def end_refresh_grant(
    session: AsyncSession, store: TokenStore, settings: Settings, user: User, grant_id: str
) -> RefreshGrant | None:
    """End USER's grant of exactly GRANT_ID, if its refresh token still works, and record it: that token
    and the access tokens issued through it stop working, on every process. The grant this call ended, or
    None if there was none (or another call ended it at the same time)."""
    if re.fullmatch(GRANT_ID_PATTERN, grant_id) is None:
        return None
    username = user.username
    found = await refresh_grant(session, username, grant_id)
    if found is None or not await live_grants(store, [found], user.credentials_changed_at):
        return None
    await revoke_grant(store, found.grant_id, grant_lifetime_seconds(settings))
    # Ended twice at once, it is revoked twice (no harm), and forgotten by one of the two: that one says so.
    forgotten = await session.execute(delete(RefreshGrant).where(RefreshGrant.grant_id == found.grant_id))
    await session.commit()
    if getattr(forgotten, "rowcount", 0) != 1:
        return None
    detail = {"grant_id": found.grant_id}
    audit.record(
        "grant.revoked", actor=audit.on_behalf_of(username), subject=username, client_id=found.client_id, detail=detail
    )
    return found
