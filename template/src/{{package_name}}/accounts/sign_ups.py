"""Sign-ups: what the sign-up page accepts, and the background job that mails the address a link
that creates the account or, when the name or the address is taken, tells the address instead.

The page answers every well-formed sign-up alike before this job runs (web/mail_jobs.py): whether a
name or an address has an account shows only in the mail, to whoever holds the address. No account
exists until the link is used (email_confirmations): until then, signing in under the new name fails
alike whether the address had an account or not.
"""

from email.message import EmailMessage

from pydantic import ValidationError

from ..storage.models import User
from ..storage.record_keys import store_key
from .account_emails import FORGOT_PASSWORD_PATH, VERIFY_EMAIL_PATH, MailContext, within_account_limit
from .account_tokens import PendingSignUp, issue_sign_up_token
from .profiles import Profile
from .users import MAX_EMAIL_LENGTH, NewUser, email_key, get_user, users_with_email

SIGN_UP_PATH = "/sign-up"


def sign_up_problem(username: str, email: str, password: str) -> str | None:
    """What is wrong with a sign-up, in words for its form (never repeating the password); None
    when nothing is. The rules are every account's (`NewUser`)."""
    try:
        NewUser(username=username, password=password)
    except ValidationError as exc:
        error = exc.errors()[0]
        if error["loc"] == ("username",):
            return "Choose a username of up to 150 letters, digits and the characters . _ @ + - (no spaces)."
        if error["loc"] == ("password",):
            return "Choose a password of 8 to 1,024 characters."
        return "Choose another password: " + error["msg"].removeprefix("Value error, ") + "."
    if not is_email_address(email):
        return "Enter your e-mail address, such as name@example.com."
    return None


def is_email_address(text: str) -> bool:
    """Whether TEXT may be an account's address: as Profile.email checks it (loosely: only the mail
    server can tell more), and nothing a mail header or a database could not hold (control
    characters, lone surrogates)."""
    if len(text) > MAX_EMAIL_LENGTH or not text.isprintable():
        return False
    try:
        Profile(email=text)
    except ValidationError:
        return False
    return True


async def sign_up_messages(context: MailContext, username: str, email: str, password_hash: str) -> list[EmailMessage]:
    """Mail the address a link that creates the account, its address verified; or, when the address
    already has an account (`sign_up_attempt`) or only the name is taken (`username_taken`), tell
    the address instead."""
    async with context.sessions() as session:
        holders = await users_with_email(session, email)
        name_taken = not holders and await get_user(session, username) is not None
    if holders:
        return await _sign_up_attempt_messages(context, holders[0], email)
    if not await _within_address_limit(context, email):
        return []
    if name_taken:
        sign_up_url, forgot_url = context.link(SIGN_UP_PATH), context.link(FORGOT_PASSWORD_PATH)
        return [
            context.message("username_taken", email, username=username, sign_up_url=sign_up_url, forgot_url=forgot_url)
        ]
    token = await issue_sign_up_token(context.store, context.settings, PendingSignUp(username, email, password_hash))
    link = context.link(VERIFY_EMAIL_PATH, token=token)
    minutes = context.settings.email_token_minutes
    return [context.message("verify_email", email, username=username, link=link, minutes=minutes)]


async def _sign_up_attempt_messages(context: MailContext, holder: User, email: str) -> list[EmailMessage]:
    if not await within_account_limit(context, holder):
        return []
    forgot_url = context.link(FORGOT_PASSWORD_PATH)
    # To the account's own address, as it was given, whatever case the sign-up spelled it in.
    to = holder.email or email
    return [context.message("sign_up_attempt", to, username=holder.username, forgot_url=forgot_url)]


async def _within_address_limit(context: MailContext, email: str) -> bool:
    # The address has no account to count against: counted by address, as an account would be, so
    # that sign-ups cannot flood someone's mailbox.
    key = store_key("sign-up-emails", email_key(email))
    counts = await context.store.increment({key: context.settings.account_email_window_seconds})
    return counts[key] <= context.settings.max_account_emails_per_account
