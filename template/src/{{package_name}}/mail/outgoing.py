"""Outgoing mail: jobs that run after the answer, in the background, with bounded retries.

A request hands over a job (what works out the messages to send) and answers at once: what the job
finds, such as whether an account exists, never shows in the answer or its timing. A full queue
drops the job and says so in the log; a delivery that fails is retried MAIL_SEND_ATTEMPTS times in
all, MAIL_RETRY_SECONDS apart and twice as long each time, then logged with the request's id.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from email.message import EmailMessage

from ..observability.request_logging import current_request_id
from .delivery import Mailer

logger = logging.getLogger(__name__)
MailJob = Callable[[], Awaitable[Iterable[EmailMessage]]]
# Jobs waiting at most; beyond it the service is being flooded or the mail server is down for long.
QUEUE_CAPACITY = 1000
WORKERS = 4


class Outgoing:
    def __init__(self, mailer: Mailer, *, attempts: int, retry_seconds: float) -> None:
        self._mailer = mailer
        self._attempts = attempts
        self._retry_seconds = retry_seconds
        self._queue: asyncio.Queue[tuple[MailJob, str]] = asyncio.Queue(QUEUE_CAPACITY)

    def submit(self, job: MailJob) -> None:
        """Run JOB in the background; never waits, never fails."""
        request_id = current_request_id.get()
        try:
            self._queue.put_nowait((job, request_id))
        except asyncio.QueueFull:
            logger.error("Mail queue full: a mail job of request %s was dropped", request_id)

    async def join(self) -> None:
        """Until every job submitted so far has run (the tests wait for their mail so)."""
        await self._queue.join()

    @contextlib.asynccontextmanager
    async def running(self, drain_seconds: float) -> AsyncIterator["Outgoing"]:
        """Workers for as long as the context lasts; at its end, up to DRAIN_SECONDS to finish."""
        workers = [asyncio.create_task(self._work()) for _ in range(WORKERS)]
        try:
            yield self
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_seconds)
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if not self._queue.empty():
                logger.error("Stopped with %d mail jobs not run", self._queue.qsize())

    async def _work(self) -> None:
        while True:
            job, request_id = await self._queue.get()
            token = current_request_id.set(request_id)
            try:
                for message in await job():
                    await self._deliver(message, request_id)
            except Exception:
                logger.exception("A mail job of request %s failed", request_id)
            finally:
                current_request_id.reset(token)
                self._queue.task_done()

    async def _deliver(self, message: EmailMessage, request_id: str) -> None:
        for attempt in range(1, self._attempts + 1):
            try:
                await self._mailer.send(message)
                return
            except Exception as exc:
                if attempt == self._attempts:
                    logger.error(
                        "Mail %r (%s) of request %s not delivered after %d attempts: %s",
                        message["Subject"],
                        message["Message-ID"],
                        request_id,
                        attempt,
                        type(exc).__name__,
                    )
                    return
                await asyncio.sleep(self._retry_seconds * 2 ** (attempt - 1))
