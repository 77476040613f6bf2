"""Account e-mail asked for by a page: handed to the background with what it needs from the request."""

from collections.abc import Awaitable, Callable
from email.message import EmailMessage

from fastapi import Request

from ..accounts.account_emails import MailContext
from ..app_state import app_state
from ..config import Settings, issuer_of


def mail_context(request: Request, settings: Settings) -> MailContext:
    state = app_state(request.app)
    return MailContext(state.sessions, state.token_store, settings, issuer_of(request, settings))


def send_later(request: Request, job: Callable[[], Awaitable[list[EmailMessage]]]) -> None:
    """Run JOB after the answer, and deliver what it returns; never waits, never fails."""
    app_state(request.app).outgoing.submit(job)
