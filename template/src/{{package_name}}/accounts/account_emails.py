"""The account e-mail a user gets, worked out in the background (mail/outgoing.py) so that no
answer waits for it or shows what it found: verification links, reset links and notices of change.

Links are built from the service's issuer and its pages' fixed paths, never from a request's Host.
Mail to an account is limited per ACCOUNT_EMAIL_WINDOW_SECONDS, and what is over a limit is dropped
without a word to the requester, who must not learn of the account: MAX_ACCOUNT_EMAILS_PER_ACCOUNT
links for the requests of each caller's address, so that a stranger who spends them does not stop
the owner's own reset, and ACCOUNT_EMAILS_FROM_EVERYWHERE times as many in all, so that many
addresses together cannot flood the mailbox; and as many notices of change.
"""

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..config import Settings
from ..mail.messages import render_message
from ..storage.models import User
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from .account_tokens import issue_reset_token, issue_verification_token
from .users import get_user, users_with_email

logger = logging.getLogger(__name__)

# The pages the messages link to, at fixed paths under the issuer.
VERIFY_EMAIL_PATH = "/verify-email"
RESET_PASSWORD_PATH = "/reset-password"
FORGOT_PASSWORD_PATH = "/forgot-password"
ACCOUNT_PATH = "/account"
# How many times an account's per-requester share of links it may get in all, from every address.
ACCOUNT_EMAILS_FROM_EVERYWHERE = 4


@dataclass(frozen=True, slots=True)
class MailContext:
    """What a mail job needs, taken from the request that asked for it: it runs after the answer."""

    sessions: async_sessionmaker[AsyncSession]
    store: TokenStore
    settings: Settings
    # The service's public base URL (ISSUER), under which every link lies.
    issuer: str
    # The address of the caller who asked (as `deps.client_address` gives it); "" for an operator.
    requester: str = ""

    def link(self, path: str, **query: str) -> str:
        return f"{self.issuer}{path}" + (f"?{urlencode(query)}" if query else "")

    def message(self, name: str, to: str, **context: Any) -> EmailMessage:
        values = {"issuer": self.issuer, "account_url": self.link(ACCOUNT_PATH), **context}
        return render_message(name, sender=self.settings.mail_from, to=to, **values)


async def within_account_limit(context: MailContext, user: User) -> bool:
    """Count a link mailed to USER; False once the account has had its share for the window, of
    this requester's asking or in all."""
    settings = context.settings
    window = settings.account_email_window_seconds
    mine = store_key("account-emails", user.username, context.requester)
    everyone = store_key("account-emails", user.username)
    counts = await context.store.increment({mine: window, everyone: window})
    limit = settings.max_account_emails_per_account
    if counts[mine] > limit or counts[everyone] > limit * ACCOUNT_EMAILS_FROM_EVERYWHERE:
        logger.warning("Account e-mail limit reached for a user; no message sent")
        return False
    return True


async def verification_messages(context: MailContext, username: str) -> list[EmailMessage]:
    """A link that verifies the user's address, if it has one not verified yet."""
    async with context.sessions() as session:
        user = await get_user(session, username)
    if user is None or user.disabled or user.email is None or user.email_verified:
        return []
    if not await within_account_limit(context, user):
        return []
    token = await issue_verification_token(context.store, context.settings, user)
    return [
        context.message(
            "verify_email",
            user.email,
            username=user.username,
            link=context.link(VERIFY_EMAIL_PATH, token=token),
            minutes=context.settings.email_token_minutes,
        )
    ]


async def reset_messages(context: MailContext, login: str) -> list[EmailMessage]:
    """A reset link for each account LOGIN names, by username or by address, that has an address."""
    async with context.sessions() as session:
        by_name = await get_user(session, login)
        users = [by_name] if by_name is not None and not by_name.disabled else await users_with_email(session, login)
    messages = []
    for user in users:
        if user.email is None or not await within_account_limit(context, user):
            continue
        token = await issue_reset_token(context.store, context.settings, user)
        link = context.link(RESET_PASSWORD_PATH, token=token)
        minutes = context.settings.reset_token_minutes
        messages.append(
            context.message("password_reset", user.email, username=user.username, link=link, minutes=minutes)
        )
    return messages


async def notice_messages(context: MailContext, name: str, to: str | None, username: str) -> list[EmailMessage]:
    """A notice of a change to the account (`password_changed`, `email_changed`, `second_factor_added`,
    `second_factor_removed`, `recovery_code_used`), to TO if any."""
    if to is None:
        return []
    key = store_key("account-notices", username)
    counts = await context.store.increment({key: context.settings.account_email_window_seconds})
    if counts[key] > context.settings.max_account_emails_per_account:
        logger.warning("Notice limit reached for a user; no message sent")
        return []
    return [context.message(name, to, username=username, forgot_url=context.link(FORGOT_PASSWORD_PATH))]
