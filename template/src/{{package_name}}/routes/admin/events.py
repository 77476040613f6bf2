"""The admin API's audit trail: events by type, actor, subject and time, newest first."""

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import HTTPException, Query, status
from pydantic import BaseModel

from ...audit.search import EventFilter, find_events
from ...deps import SessionDep
from ...storage.models import AuditEvent
from .guard import admin_router
from .paging import DEFAULT_LIMIT, Cursor, Limit, Page, cursor_after, position_of

router = admin_router()


class EventView(BaseModel):
    id: int
    occurred_at: datetime
    type: str
    outcome: str
    actor: str
    subject: str | None
    client_id: str | None
    address: str | None
    request_id: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> "EventView":
        return cls(
            id=event.id,
            occurred_at=datetime.fromtimestamp(event.occurred_at / 1000, UTC),
            type=event.type,
            outcome=event.outcome,
            actor=event.actor,
            subject=event.subject,
            client_id=event.client_id,
            address=event.address,
            request_id=event.request_id,
            detail=_detail(event.detail),
        )


def _detail(text: str) -> dict[str, Any]:
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


Text = Annotated[str | None, Query(max_length=200)]
Time = Annotated[datetime | None, Query(description="ISO 8601; without an offset, UTC")]


def _milliseconds(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


@router.get("/admin/events", response_model=Page[EventView])
async def list_events(
    session: SessionDep,
    type: Text = None,
    actor: Text = None,
    subject: Text = None,
    since: Time = None,
    until: Time = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[EventView]:
    """Events of TYPE (`sign_in.failed`...), by ACTOR (`user:NAME`, `client:ID`, `system`), about SUBJECT,
    from SINCE until UNTIL."""
    wanted = EventFilter(type, actor, subject, _milliseconds(since), _milliseconds(until))
    if wanted.since is not None and wanted.until is not None and wanted.since >= wanted.until:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "since must come before until")
    events, go_on_before = await find_events(session, wanted, before_id=position_of(cursor, int), limit=limit)
    next_cursor = None if go_on_before is None else cursor_after(go_on_before)
    return Page(items=[EventView.of(event) for event in events], next_cursor=next_cursor)
