"""Paging of the admin API's lists: up to `limit` items, and an opaque `next_cursor` to ask for the next ones."""

import base64
import binascii
import json
from typing import Annotated, Generic, TypeVar

from fastapi import HTTPException, Query, status
from pydantic import BaseModel

from ...storage.database import can_hold

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# Longer than any cursor this API gives: a 255-character client id, each character escaped, in base64.
MAX_CURSOR_LENGTH = 2400
# A numeric position beyond this is none the database holds (its integers have 63 bits and a sign).
MAX_POSITION = 2**63 - 1

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many items at most")]
Cursor = Annotated[
    str | None, Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` of the page before; none for the first")
]


Item = TypeVar("Item", bound=BaseModel)
Position = TypeVar("Position", str, int)


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    # Where the next page begins; None on the last.
    next_cursor: str | None


def cursor_after(position: str | int) -> str:
    """The cursor of the page that begins after POSITION (the last item's sort key)."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def position_of(cursor: str | None, kind: type[Position]) -> Position | None:
    """The sort key CURSOR holds (None for the first page); a 400 for a cursor this API did not give."""
    if cursor is None:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        position = None
    # A bool is an int to Python, never a position; an int or a text the database cannot compare with neither.
    if (
        type(position) is not kind
        or (isinstance(position, int) and not 0 <= position <= MAX_POSITION)
        or (isinstance(position, str) and not can_hold(position))
    ):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "The cursor is not one this API gave")
    return position


def page_of(items: list[Item], limit: int, position: str | int) -> Page[Item]:
    """A page of ITEMS (LIMIT+1 were asked for, to tell whether more follow); POSITION is the last shown's key."""
    return Page(items=items[:limit], next_cursor=cursor_after(position) if len(items) > limit else None)
