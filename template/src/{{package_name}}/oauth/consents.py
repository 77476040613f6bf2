"""Users' approvals of clients: the only module that reads or writes the consents table.

Every approval is kept, as a connected app of the account page; only one the user asked to remember
spares the consent page next time. A row's approvals are what it remembers once it is remembered (an
approval not remembered adds none: the user did not ask for them to be granted without asking),
and everything approved while it is not.

An approval is for APIs (RFC 8707 resources, and the service's own), each with the scopes approved for
it: a scope approved for one API is not approved for another, and approving another API is not
approving this service's own. The resources column holds a line per API, its URI or OWN_API, then its
scopes; the scopes column holds every scope approved, for the account page. A row made before
resources were kept approved the own API for its scopes.
"""

import time
from collections.abc import Iterable, Mapping

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.profiles import IDENTITY_SCOPES
from ..audit import trail as audit
from ..storage.database import end_read
from ..storage.models import Client, Consent
from .resource_indicators import Target

# How stale a connected app's last use may be: noted at most once a minute, so a busy client's
# token requests do not each write the row.
LAST_USE_PRECISION_SECONDS = 60
# In the resources column, the service's own API: no resource URI is this word.
OWN_API = "own"
# APIs (a resource URI, or OWN_API) with the scopes approved for each.
Approval = Mapping[str, frozenset[str]]


async def consent_covers(session: AsyncSession, username: str, client_id: str, asked: Approval) -> bool:
    """Whether the user asked to remember an approval of CLIENT_ID for every API in ASKED, each for
    the scopes asked for it."""
    consent = await _consent(session, username, client_id)
    await end_read(session)
    if consent is None or not consent.remembered:
        return False
    approved = approvals_of(consent)
    return all(api in approved and scopes <= approved[api] for api, scopes in asked.items())


async def record_consent(
    session: AsyncSession, username: str, client_id: str, asked: Approval, *, remember: bool
) -> None:
    """Keep the user's approval of CLIENT_ID for ASKED; REMEMBER when the user asked to."""
    await end_read(session)
    # Written in a session of its own: a lost race to add the row rolls back this one alone, and
    # leaves the objects the caller loaded usable.
    async with AsyncSession(session.bind, expire_on_commit=False) as own:
        for _ in range(2):
            consent = await _consent(own, username, client_id)
            if consent is None:
                consent = Consent(username=username, client_id=client_id, remembered=remember)
                _keep(consent, asked)
                own.add(consent)
            elif remember and not consent.remembered:
                # What is remembered is what was approved now, not what was approved before without it.
                consent.remembered = True
                _keep(consent, asked)
            elif remember == consent.remembered:
                approved = approvals_of(consent)
                _keep(
                    consent,
                    {api: approved.get(api, frozenset()) | asked.get(api, frozenset()) for api in {*approved, *asked}},
                )
            try:
                await own.commit()
                detail: audit.Detail = {
                    "scopes": sorted({scope for scopes in asked.values() for scope in scopes}),
                    "remembered": remember,
                }
                audit.record(
                    "consent.given", actor=audit.user(username), subject=username, client_id=client_id, detail=detail
                )
                return
            except IntegrityError:
                # Another approval of the same pair added the row meanwhile: update that one instead.
                await own.rollback()
    raise RuntimeError("the consent row could neither be added nor found")


def asked_approval(scopes: frozenset[str], targets: Iterable[Target], own: Target) -> dict[str, frozenset[str]]:
    """What a request asks the user to approve: each API it names (OWN_API for the service's own), with
    the scopes of SCOPES that the API declares, and the OpenID Connect ones."""
    return {
        (OWN_API if target == own else target.uri): scopes & (target.scopes | IDENTITY_SCOPES) for target in targets
    }


def approvals_of(consent: Consent) -> dict[str, frozenset[str]]:
    """What CONSENT approved, by API."""
    if not consent.resources:
        return {OWN_API: frozenset(consent.scopes.split())}
    lines = (line.split(" ") for line in consent.resources.splitlines() if line)
    return {api: frozenset(scopes) for api, *scopes in lines}


def _keep(consent: Consent, approval: Approval) -> None:
    consent.scopes = _joined(frozenset().union(*approval.values()))
    consent.resources = "\n".join(" ".join([api, *sorted(scopes)]) for api, scopes in sorted(approval.items()))


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


async def consenting_users(session: AsyncSession, client_id: str) -> list[str]:
    """The users who approved CLIENT_ID."""
    usernames = list(await session.scalars(select(Consent.username).where(Consent.client_id == client_id)))
    await end_read(session)
    return usernames


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
