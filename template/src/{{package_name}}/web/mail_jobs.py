"""Account e-mail asked for by a page: handed to the background with what it needs from the request."""

from collections.abc import Awaitable, Callable
from email.message import EmailMessage

from fastapi import Request

from ..accounts.account_emails import MailContext
from ..app_state import app_state
from ..config import LOOPBACK_HOSTS, Settings
from ..deps import client_address


def mail_context(request: Request, settings: Settings) -> MailContext:
    state = app_state(request.app)
    return MailContext(
        state.sessions, state.token_store, settings, _link_base(request, settings), client_address(request)
    )


def _link_base(request: Request, settings: Settings) -> str:
    """ISSUER; in development without it, the base URL the request arrived at only when it names this
    machine (the Host header is the client's to choose), else where `serve` listens by default."""
    if settings.issuer is not None:
        return settings.issuer
    if request.url.hostname in LOOPBACK_HOSTS:
        return str(request.base_url).rstrip("/")
    return f"http://127.0.0.1:{settings.port}"


def send_later(request: Request, job: Callable[[], Awaitable[list[EmailMessage]]]) -> None:
    """Run JOB after the answer, and deliver what it returns; never waits, never fails."""
    app_state(request.app).outgoing.submit(job)
