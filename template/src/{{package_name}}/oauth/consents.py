"""Users' approvals of clients: the only module that reads or writes the consents table.

Every approval is kept, as a connected app of the account page; only one the user asked to remember
spares the consent page next time. A row's scopes are what it remembers once it is remembered (an
approval not remembered adds none: the user did not ask for them to be granted without asking),
and every scope approved while it is not.
"""

import time

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..storage.database import end_read
from ..storage.models import Client, Consent

# How stale a connected app's last use may be: noted at most once a minute, so a busy client's
# token requests do not each write the row.
LAST_USE_PRECISION_SECONDS = 60


async def consent_covers(
    session: AsyncSession, username: str, client_id: str, scopes: frozenset[str], resources: frozenset[str]
) -> bool:
    """Whether the user asked to remember an approval of CLIENT_ID for every scope in SCOPES and every
    registered resource in RESOURCES (RFC 8707; the service's own API is never among them)."""
    consent = await _consent(session, username, client_id)
    await end_read(session)
    return (
        consent is not None
        and consent.remembered
        and scopes <= frozenset(consent.scopes.split())
        and resources <= consent.approved_resources
    )


async def record_consent(
    session: AsyncSession,
    username: str,
    client_id: str,
    scopes: frozenset[str],
    resources: frozenset[str],
    *,
    remember: bool,
) -> None:
    """Keep the user's approval of CLIENT_ID for SCOPES and RESOURCES; REMEMBER when the user asked to.
    Resources are remembered as scopes are."""
    await end_read(session)
    # Written in a session of its own: a lost race to add the row rolls back this one alone, and
    # leaves the objects the caller loaded usable.
    async with AsyncSession(session.bind, expire_on_commit=False) as own:
        for _ in range(2):
            consent = await _consent(own, username, client_id)
            if consent is None:
                own.add(
                    Consent(
                        username=username,
                        client_id=client_id,
                        scopes=_joined(scopes),
                        resources=_joined(resources),
                        remembered=remember,
                    )
                )
            elif remember and not consent.remembered:
                # What is remembered is what was approved now, not what was approved before without it.
                consent.scopes, consent.resources, consent.remembered = _joined(scopes), _joined(resources), True
            elif remember == consent.remembered:
                consent.scopes = _joined(scopes | frozenset(consent.scopes.split()))
                consent.resources = _joined(resources | consent.approved_resources)
            try:
                await own.commit()
                return
            except IntegrityError:
                # Another approval of the same pair added the row meanwhile: update that one instead.
                await own.rollback()
    raise RuntimeError("the consent row could neither be added nor found")


async def note_use(session: AsyncSession, username: str, client_id: str) -> None:
    """Record that CLIENT_ID got tokens for the user now, if it is a connected app; one statement,
    which writes nothing when the last use noted is recent."""
    now = int(time.time())
    stale = or_(Consent.last_used_at.is_(None), Consent.last_used_at <= now - LAST_USE_PRECISION_SECONDS)
    await session.execute(
        update(Consent)
        .where(Consent.username == username, Consent.client_id == client_id, stale)
        .values(last_used_at=now)
    )
    await session.commit()


async def forget_consent(session: AsyncSession, username: str, client_id: str) -> bool:
    """Delete the user's approval of CLIENT_ID; whether there was one."""
    deleted = await session.execute(delete(Consent).where(Consent.username == username, Consent.client_id == client_id))
    await session.commit()
    return bool(getattr(deleted, "rowcount", 0))


async def approvals(session: AsyncSession, username: str) -> list[tuple[Consent, Client]]:
    """The user's approvals, with their clients, by client name."""
    rows = await session.execute(
        select(Consent, Client)
        .join(Client, Client.client_id == Consent.client_id)
        .where(Consent.username == username)
        .order_by(Client.name, Client.client_id)
    )
    found = [(consent, client) for consent, client in rows]
    await end_read(session)
    return found


async def has_consent(session: AsyncSession, username: str, client_id: str) -> bool:
    found = await _consent(session, username, client_id) is not None
    await end_read(session)
    return found


async def _consent(session: AsyncSession, username: str, client_id: str) -> Consent | None:
    return await session.scalar(select(Consent).where(Consent.username == username, Consent.client_id == client_id))


def _joined(scopes: frozenset[str]) -> str:
    return " ".join(sorted(scopes))
