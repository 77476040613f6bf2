"""Remembered consent decisions: the only module that reads or writes the consents table."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..storage.database import end_read
from ..storage.models import Consent


async def consent_covers(session: AsyncSession, username: str, client_id: str, scopes: frozenset[str]) -> bool:
    consent = await session.scalar(select(Consent).where(Consent.username == username, Consent.client_id == client_id))
    await end_read(session)
    return consent is not None and scopes <= frozenset(consent.scopes.split())


async def remember_consent(session: AsyncSession, username: str, client_id: str, scopes: frozenset[str]) -> None:
    consent = await session.scalar(select(Consent).where(Consent.username == username, Consent.client_id == client_id))
    if consent is None:
        session.add(Consent(username=username, client_id=client_id, scopes=" ".join(sorted(scopes))))
    else:
        consent.scopes = " ".join(sorted(scopes | frozenset(consent.scopes.split())))
    await session.commit()
