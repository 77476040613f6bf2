"""A real SMTP server (aiosmtpd) on a free port for the services the tests boot, and the links in its mail."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from .ports import free_port

LINK = re.compile(r"https?://\S+")


class Mailbox:
    """What the server accepted; `url` is the SMTP_URL that reaches it."""

    def __init__(self) -> None:
        self.url = ""
        self._messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self._messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, subject: str, timeout: float = 20) -> EmailMessage:
        """The newest message to TO whose subject holds SUBJECT, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [m for m in self._messages if m["To"] == to and subject in str(m["Subject"])]
                if found:
                    return found[-1]
                left = deadline - time.monotonic()
                assert left > 0, f"no mail {subject!r} to {to}: {[str(m['Subject']) for m in self._messages]}"
                self._arrived.wait(left)


def link_in(message: EmailMessage) -> str:
    """The message's one link that carries a token (the others: the service itself, its account page)."""
    body = message.get_body(("plain",))
    assert body is not None
    links = [link for link in LINK.findall(body.get_content()) if "token=" in link]
    assert len(links) == 1, links
    return str(links[0])


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    try:
        yield mailbox
    finally:
        controller.stop()
