"""Reading the audit trail: the events of a type, an actor, a subject or a time, newest first, a page at a time."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..storage.database import can_hold, end_read
from ..storage.models import AuditEvent


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What the events sought have: each text given must match exactly, case included (times in Unix
    milliseconds, SINCE included, UNTIL not)."""

    type: str | None = None
    actor: str | None = None
    subject: str | None = None
    since: int | None = None
    until: int | None = None


async def find_events(
    session: AsyncSession, wanted: EventFilter, *, before_id: int | None, limit: int
) -> tuple[list[AuditEvent], int | None]:
    """Up to LIMIT events that WANTED describes, recorded before the one BEFORE_ID numbers (the newest
    when None), newest first; and the id to go on before for more, None when there are no more."""
    texts = [text for text in (wanted.type, wanted.actor, wanted.subject) if text is not None]
    if not all(can_hold(text) for text in texts):
        return [], None
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if wanted.type is not None:
        query = query.where(AuditEvent.type == wanted.type)
    if wanted.actor is not None:
        query = query.where(AuditEvent.actor == wanted.actor)
    if wanted.subject is not None:
        query = query.where(AuditEvent.subject == wanted.subject)
    if wanted.since is not None:
        query = query.where(AuditEvent.occurred_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditEvent.occurred_at < wanted.until)
    read = list(await session.scalars(query))
    await end_read(session)
    events = read[:limit]
    go_on_before = events[-1].id if len(read) > limit else None
    # Compared again here: MySQL's collations ignore case, accents and trailing spaces, so `alice` would
    # also find `Alice`'s events. (A page may then hold fewer than LIMIT events; the next one goes on.)
    return [event for event in events if _exactly(event, wanted)], go_on_before


def _exactly(event: AuditEvent, wanted: EventFilter) -> bool:
    return all(
        value is None or getattr(event, column) == value
        for column, value in (("type", wanted.type), ("actor", wanted.actor), ("subject", wanted.subject))
    )
