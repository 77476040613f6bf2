"""A real SMTP server (aiosmtpd) on a free port, whose mailbox the tests read, and the links in its mail."""

import re
import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from .helpers import app_state

LINK = re.compile(r"https?://\S+")


@dataclass
class Mailbox:
    """Every message the server accepted, newest last; `url` is the SMTP_URL that reaches it."""

    url: str = ""
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


def start_smtp_server() -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    return controller, mailbox


def delivered(client: TestClient) -> None:
    """Wait until the app has run every mail job handed over so far."""
    assert client.portal is not None
    client.portal.call(app_state(client.app).outgoing.join)


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def link_in(message: EmailMessage) -> str:
    """The one link of the message's text part that is neither the account page's nor the bare issuer
    of its signature."""
    found = LINK.findall(text_of(message))
    links: list[str] = [link for link in found if not link.endswith("/account") and urlsplit(link).path.strip("/")]
    assert len(links) == 1, links
    return links[0]
