"""Delivery of a message: to the SMTP server SMTP_URL names, or in development without one to
OUTBOX_DIR, one `.eml` file per message, its links logged so that a developer can follow them."""

import asyncio
import logging
import re
import secrets
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from ..config import LOOPBACK_HOSTS, SMTP_SCHEMES, Settings

logger = logging.getLogger(__name__)
LINK = re.compile(r"https?://\S+")


def is_permanent(error: Exception) -> bool:
    """Whether trying again would fail the same way: a message no server can take, or a 5xx answer."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(refused.code >= 500 for refused in error.recipients)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return error.code >= 500
    return isinstance(error, ValueError | TypeError | UnicodeError)


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand MESSAGE on; raise when it was not accepted."""
        ...


class SmtpMailer:
    """Delivers through an SMTP server: TLS from the start (`smtps://`) or STARTTLS (`smtp://`),
    which only a server on this machine may do without."""

    def __init__(self, url: str, timeout_seconds: float) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or ""
        self._port = parts.port or SMTP_SCHEMES[parts.scheme]
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._implicit_tls = parts.scheme == "smtps"
        self._timeout = timeout_seconds
        # None: STARTTLS when the server offers it; True: refuse a server that does not.
        self._start_tls: bool | None = None if self._host in LOOPBACK_HOSTS else True

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            use_tls=self._implicit_tls,
            start_tls=None if self._implicit_tls else self._start_tls,
            timeout=self._timeout,
        )


class OutboxMailer:
    """Writes each message to DIRECTORY as an `.eml` file: development's mail server."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def send(self, message: EmailMessage) -> None:
        path = self._directory / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}.eml"
        await asyncio.to_thread(self._write, path, message.as_bytes())
        text = message.get_body(("plain",))
        links = LINK.findall(text.get_content()) if text is not None else []
        logger.info("Mail to %s written to %s; links: %s", message["To"], path, " ".join(links) or "none")

    def _write(self, path: Path, content: bytes) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def mailer(settings: Settings) -> Mailer:
    """SMTP_URL's server when set; otherwise the outbox (production refuses to start without SMTP_URL)."""
    if settings.smtp_url is not None:
        return SmtpMailer(settings.smtp_url.get_secret_value(), settings.mail_timeout_seconds)
    return OutboxMailer(settings.outbox_dir)
