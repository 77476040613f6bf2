"""Changes of address asked for on the account page: pending, the account keeping its address (for
resets and notices), until the new address's holder uses the link mailed to it (email_confirmations).
"""

from email.message import EmailMessage

from .account_emails import VERIFY_EMAIL_PATH, MailContext, within_account_limit
from .users import get_user


async def email_change_messages(context: MailContext, username: str, email: str, token: str) -> list[EmailMessage]:
    """The link that makes EMAIL the user's address, to EMAIL (within the account's limit of mail)."""
    async with context.sessions() as session:
        user = await get_user(session, username)
    if user is None or user.disabled or not await within_account_limit(context, user):
        return []
    link = context.link(VERIFY_EMAIL_PATH, token=token)
    minutes = context.settings.email_token_minutes
    return [context.message("verify_email", email, username=user.username, link=link, minutes=minutes)]
