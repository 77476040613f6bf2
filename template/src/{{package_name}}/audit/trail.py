"""The audit trail: security events, each one a log line at once and a row of the `events` table soon after.

`record` never waits and never fails. Its log line (a JSON object under LOG_FORMAT=json, for a log
shipper) is written before it returns; the row joins a queue that the running application's trail
appends in batches, in transactions of its own, so an event outlives the request's own transaction
(a failed sign-in commits nothing else) and costs the request no round trip. A full queue or an
unreachable database loses rows, said in the log, never the log lines. Rows older than
AUDIT_RETENTION_DAYS are deleted by the trail itself, a batch at a time.

An event holds who acted, on whom or what, from where, with what outcome, and a small detail: never a
password, a token, a code or a secret; what a client sent is cut short and stripped of what no column holds.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from ..observability.request_logging import current_request_id
from ..storage.database import UNAVAILABLE_ERRORS
from ..storage.models import AuditEvent

logger = logging.getLogger(__name__)
audit_logger = logging.getLogger(__name__.partition(".")[0] + ".audit")
Outcome = Literal["success", "failure"]
# What an event's detail may hold: small values, never a secret.
Detail = Mapping[str, str | int | bool | list[str] | None]
# Who acts in a command on the server's machine (and not a user or a client).
SYSTEM = "system"
# Events waiting for the database at most; beyond it, rows are dropped (their log lines are kept).
QUEUE_CAPACITY = 10_000
BATCH = 500
# Old rows deleted per statement, and how often the trail looks for them.
EXPIRED_BATCH = 1000
CLEANUP_INTERVAL_SECONDS = 3600
# How long a stopping trail waits for its queue to be written and its deletion to end.
DRAIN_SECONDS = 10
# A batch the database refused for want of a connection is tried again, a second later, then two.
WRITE_ATTEMPTS = 3
WRITE_RETRY_SECONDS = 1.0
DROPS_SAID_EVERY_SECONDS = 60
# A detail's text and lists are cut to these: no one can hide the rest of an event behind one long value.
MAX_DETAIL_TEXT = 255
MAX_DETAIL_LIST_CHARACTERS = 600
# Column sizes (storage/models.py): what a client sent is cut to them.
TEXT_LIMITS = {"type": 64, "actor": 200, "subject": 200, "client_id": 255, "address": 64, "request_id": 128}

_trail: ContextVar["AuditTrail | None"] = ContextVar("audit_trail", default=None)
_address: ContextVar[str | None] = ContextVar("audit_address", default=None)
_actor: ContextVar[str | None] = ContextVar("audit_actor", default=None)


def user(username: str) -> str:
    return f"user:{username}"


def client(client_id: str) -> str:
    return f"client:{client_id}"


def on_behalf_of(username: str) -> str:
    """Who acts on USERNAME's account: the user, unless an operator does (a command, the admin API)."""
    return _actor.get() or user(username)


def act_for(actor: str) -> None:
    """Name ACTOR as who acts for the rest of this request: the admin API's caller, whose changes to
    accounts and clients are then recorded as the operator's."""
    _actor.set(actor)


@dataclass(frozen=True, slots=True)
class Event:
    occurred_at: int  # Unix milliseconds
    type: str
    outcome: Outcome
    actor: str
    subject: str | None
    client_id: str | None
    address: str | None
    request_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "occurred_at": self.occurred_at,
            "type": self.type,
            "outcome": self.outcome,
            "actor": self.actor,
            "subject": self.subject,
            "client_id": self.client_id,
            "address": self.address,
            "request_id": self.request_id,
            "detail": json.dumps(self.detail, ensure_ascii=False, separators=(",", ":")),
        }


def record(
    type: str,
    *,
    outcome: Outcome = "success",
    actor: str | None = None,
    subject: str | None = None,
    client_id: str | None = None,
    detail: Detail | None = None,
) -> None:
    """Record an event of TYPE: ACTOR (by default who the context names: `system` in a command) did it to
    SUBJECT, through CLIENT_ID. Never waits, never fails."""
    trail = _trail.get()
    request_id = current_request_id.get()
    event = Event(
        occurred_at=int((trail.clock() if trail else time.time()) * 1000),
        type=_text(type, "type") or "unknown",
        outcome=outcome,
        actor=_text(actor or _actor.get() or "anonymous", "actor") or "anonymous",
        subject=_text(subject, "subject"),
        client_id=_text(client_id, "client_id"),
        address=_text(_address.get(), "address"),
        request_id=_text(None if request_id == "-" else request_id, "request_id"),
        detail=_detail(detail or {}),
    )
    audit_logger.info(
        "%s %s actor=%r subject=%r client=%r",
        event.type,
        event.outcome,
        event.actor,
        event.subject,
        event.client_id,
        extra={"event": event.row() | {"detail": event.detail}},
    )
    if trail is not None:
        trail.append(event)


class AuditTrail:
    """The events of one application (or one command), appended to the database from the background
    while the trail runs."""

    def __init__(self, *, retention_days: int, clock: Callable[[], float] = time.time) -> None:
        self._sessions: async_sessionmaker[Any] | None = None
        self._retention_seconds = retention_days * 86400
        self.clock = clock
        self._queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_CAPACITY)
        self._dropped = 0
        self._dropped_said_at = -float("inf")

    def append(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # Said once a minute at most: a flood must not turn into a flood of log lines.
            self._dropped += 1
            now = time.monotonic()
            if now - self._dropped_said_at >= DROPS_SAID_EVERY_SECONDS:
                logger.error("Audit queue full: %d event rows dropped (their log lines are kept)", self._dropped)
                self._dropped, self._dropped_said_at = 0, now

    @property
    def has_pending(self) -> bool:
        return not self._queue.empty()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def written(self) -> None:
        """Until every event recorded so far is written (or dropped, as the log says)."""
        await self._queue.join()

    @contextlib.contextmanager
    def bound(self) -> Iterator[None]:
        """Events recorded in this context (a command's) go to this trail, with `system` as their actor."""
        trail, actor = _trail.set(self), _actor.set(SYSTEM)
        try:
            yield
        finally:
            _actor.reset(actor)
            _trail.reset(trail)

    @contextlib.asynccontextmanager
    async def running(self, sessions: async_sessionmaker[Any], *, cleanup: bool = True) -> AsyncIterator["AuditTrail"]:
        """The writer to the database of SESSIONS (and, with CLEANUP, the retention's deletions) for as
        long as the context lasts; at its end, what is queued is written."""
        self._sessions = sessions
        # What the application starts from here on (its background jobs) records to this trail, for no one.
        _trail.set(self)
        _actor.set(None)
        stopping = asyncio.Event()
        writer = asyncio.create_task(self._write())
        cleaner = asyncio.create_task(self._clean_up(stopping)) if cleanup else None
        try:
            yield self
        finally:
            stopping.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), DRAIN_SECONDS)
            # The writer waits for the next event, and is stopped there; the cleaner ends the deletion
            # it may be in the middle of: a query cut short would hold its connection past the engine.
            writer.cancel()
            if cleaner is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(cleaner), DRAIN_SECONDS)
                cleaner.cancel()
            await asyncio.gather(writer, *([cleaner] if cleaner else []), return_exceptions=True)
            if self._queue.qsize():
                logger.error("Stopped with %d audit events not written", self._queue.qsize())

    async def delete_expired(self) -> int:
        """Delete the rows older than the retention; how many went. Only while the trail runs."""
        assert self._sessions is not None, "the trail is not running"
        cutoff = int((self.clock() - self._retention_seconds) * 1000)
        deleted = 0
        while True:
            async with self._sessions() as session:
                ids = (
                    await session.scalars(
                        select(AuditEvent.id).where(AuditEvent.occurred_at < cutoff).limit(EXPIRED_BATCH)
                    )
                ).all()
                if not ids:
                    return deleted
                await session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)))
                await session.commit()
            deleted += len(ids)

    async def _write(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._insert(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _insert(self, batch: list[Event]) -> None:
        """Append BATCH, trying again a few times while the database is unavailable; then give it up,
        never the writing of the next ones: the log lines hold them meanwhile."""
        assert self._sessions is not None
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                async with self._sessions() as session:
                    await session.execute(insert(AuditEvent), [event.row() for event in batch])
                    await session.commit()
                return
            except UNAVAILABLE_ERRORS as exc:
                if attempt == WRITE_ATTEMPTS:
                    unavailable = type(exc).__name__
                    logger.error(
                        "%d audit event rows not written: the database is unavailable (%s)", len(batch), unavailable
                    )
                    return
                await asyncio.sleep(WRITE_RETRY_SECONDS * attempt)
            except Exception:
                logger.exception("%d audit event rows could not be written", len(batch))
                return

    async def _clean_up(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                deleted = await self.delete_expired()
            except UNAVAILABLE_ERRORS:
                logger.warning("Old audit events could not be deleted: the database is unavailable")
            except Exception:
                # Tried again at the next interval, like an outage.
                logger.exception("Old audit events could not be deleted")
            else:
                if deleted:
                    logger.info("Deleted %d audit events older than the retention", deleted)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), CLEANUP_INTERVAL_SECONDS)


class AuditContext:
    """ASGI middleware: the events of a request go to TRAIL, with the caller's address."""

    def __init__(self, app: ASGIApp, *, trail: AuditTrail) -> None:
        self.app = app
        self.trail = trail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            _trail.set(self.trail)
            # Whoever the process runs for (a command that serves), a request acts for its caller.
            _actor.set(None)
            # uvicorn puts a forwarded address here only when the peer is a trusted proxy.
            peer = scope.get("client")
            _address.set(peer[0] if peer else None)
        await self.app(scope, receive, send)


def _text(value: str | None, column: str) -> str | None:
    """VALUE as every database holds it: valid UTF-8, no NUL, cut to the column's size."""
    if value is None:
        return None
    cleaned = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return cleaned[: TEXT_LIMITS[column]]


def _detail(detail: Detail) -> dict[str, Any]:
    return {key: _shortened_list(value) if isinstance(value, list) else _clean(value) for key, value in detail.items()}


def _shortened_list(values: list[str]) -> list[str]:
    """VALUES, as many as fit MAX_DETAIL_LIST_CHARACTERS, then how many more there were."""
    kept: list[str] = []
    size = 0
    for value in values:
        text = str(_clean(value))
        size += len(text) + 4
        if size > MAX_DETAIL_LIST_CHARACTERS:
            kept.append(f"... {len(values) - len(kept)} more")
            break
        kept.append(text)
    return kept


def _clean(value: str | int | bool | None) -> str | int | bool | None:
    if not isinstance(value, str):
        return value
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")[:MAX_DETAIL_TEXT]
