"""Outgoing mail: jobs that run after the answer, in the background, with bounded retries.

A request hands over a job (what works out the messages to send) and answers at once: what the job
finds, such as whether an account exists, never shows in the answer or its timing. A full queue
drops the job and says so in the log. A delivery that fails for a while (no answer, a 4xx) is tried
again MAIL_SEND_ATTEMPTS times in all, MAIL_RETRY_SECONDS later and twice as long each time: waiting
apart from the workers, so that a mail server that is down holds up nobody else's mail. One that
would fail the same way again (a 5xx, an address no server takes) is not; either is logged with the
request's id.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from email.message import EmailMessage

from ..observability.request_logging import current_request_id
from .delivery import Mailer, is_permanent

logger = logging.getLogger(__name__)
MailJob = Callable[[], Awaitable[Iterable[EmailMessage]]]
# Jobs and deliveries waiting at most; beyond it the service is being flooded or the mail server is
# down for long.
QUEUE_CAPACITY = 1000
WORKERS = 4


class Outgoing:
    def __init__(self, mailer: Mailer, *, attempts: int, retry_seconds: float) -> None:
        self._mailer = mailer
        self._attempts = attempts
        self._retry_seconds = retry_seconds
        # A job to run, or a message and the number of its delivery attempt.
        self._queue: asyncio.Queue[tuple[MailJob | EmailMessage, int, str]] = asyncio.Queue(QUEUE_CAPACITY)
        self._waiting: set[asyncio.Task[None]] = set()

    def submit(self, job: MailJob) -> None:
        """Run JOB in the background; never waits, never fails."""
        self._put((job, 0, current_request_id.get()))

    async def tried(self) -> None:
        """Until every job submitted so far has run and each message been tried once."""
        await self._queue.join()

    async def join(self) -> None:
        """Until every job submitted so far has run and its mail is delivered or given up (the tests
        wait for their mail so)."""
        while True:
            await self._queue.join()
            if not self._waiting:
                return
            await asyncio.gather(*self._waiting, return_exceptions=True)

    @contextlib.asynccontextmanager
    async def running(self, drain_seconds: float) -> AsyncIterator["Outgoing"]:
        """Workers for as long as the context lasts; at its end, up to DRAIN_SECONDS to finish."""
        workers = [asyncio.create_task(self._work()) for _ in range(WORKERS)]
        try:
            yield self
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_seconds)
            left = self._queue.qsize() + len(self._waiting)
            tasks = [*workers, *self._waiting]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if left:
                logger.error("Stopped with %d mail jobs or deliveries not done", left)

    def _put(self, item: tuple[MailJob | EmailMessage, int, str]) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            logger.error("Mail queue full: mail of request %s was dropped", item[2])

    async def _work(self) -> None:
        while True:
            work, attempt, request_id = await self._queue.get()
            token = current_request_id.set(request_id)
            try:
                if isinstance(work, EmailMessage):
                    await self._deliver(work, attempt, request_id)
                else:
                    for message in await work():
                        await self._deliver(message, 1, request_id)
            except Exception:
                logger.exception("A mail job of request %s failed", request_id)
            finally:
                current_request_id.reset(token)
                self._queue.task_done()

    async def _deliver(self, message: EmailMessage, attempt: int, request_id: str) -> None:
        try:
            await self._mailer.send(message)
        except Exception as exc:
            if attempt < self._attempts and not is_permanent(exc):
                self._retry_later(message, attempt + 1, request_id)
                return
            logger.error(
                "Mail %r (%s) of request %s not delivered after %d attempts: %s",
                message["Subject"],
                message["Message-ID"],
                request_id,
                attempt,
                type(exc).__name__,
            )

    def _retry_later(self, message: EmailMessage, attempt: int, request_id: str) -> None:
        async def wait_then_queue() -> None:
            await asyncio.sleep(self._retry_seconds * 2 ** (attempt - 2))
            self._put((message, attempt, request_id))

        task = asyncio.create_task(wait_then_queue())
        self._waiting.add(task)
        task.add_done_callback(self._waiting.discard)
