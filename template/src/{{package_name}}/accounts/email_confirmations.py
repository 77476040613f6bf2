"""What a link mailed to an address does once its page's button is pressed: confirm the account's
address, make the account's address the one a change asked for, or create the account a sign-up
asked for. Each link is a single-use token of its own kind (account_tokens) behind the same page.

Nothing about an address changes until someone shows they hold it by using such a link: a sign-up
makes no account, and a change of address leaves the old one in place (for resets and notices) until
then.
"""

from dataclasses import dataclass
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import trail as audit
from ..storage.token_store import TokenStore
from .account_tokens import PendingSignUp, email_change_holder, pending_sign_up, verification_holder
from .profiles import Profile
from .users import UserExistsError, create_user_with_hash, mark_email_verified, set_profile, users_with_email


class Outcome(Enum):
    VERIFIED = "verified"  # the account's address is confirmed
    CHANGED = "changed"  # the account's address is the new one, confirmed
    CREATED = "created"  # the account is made, its address confirmed
    USERNAME_TAKEN = "username-taken"  # someone took the sign-up's username meanwhile: nothing was made
    INVALID = "invalid"  # used, expired, replaced, or no longer fits the account as it is


@dataclass(frozen=True, slots=True)
class Confirmation:
    outcome: Outcome
    username: str = ""
    email: str = ""
    # The address a change replaced: it hears of the change.
    replaced_email: str | None = None


async def address_to_confirm(session: AsyncSession, store: TokenStore, token: str) -> str | None:
    """The address TOKEN's link confirms, while it holds; spends nothing, as mail scanners open links."""
    user = await verification_holder(session, store, token, spend=False)
    if user is not None:
        return user.email
    change = await email_change_holder(session, store, token, spend=False)
    if change is not None:
        return change[1]
    sign_up = await pending_sign_up(store, token, spend=False)
    return None if sign_up is None else sign_up.email


async def confirm_email(session: AsyncSession, store: TokenStore, token: str) -> Confirmation:
    """Spend TOKEN and do what its link was mailed for."""
    user = await verification_holder(session, store, token, spend=True)
    if user is not None and user.email is not None:
        await mark_email_verified(session, user.username, user.email)
        audit.record("email.verified", actor=audit.user(user.username), subject=user.username)
        return Confirmation(Outcome.VERIFIED, user.username, user.email)
    change = await email_change_holder(session, store, token, spend=True)
    if change is not None:
        changed, email = change
        # Read first: the update changes the user loaded in this session too.
        username, replaced_email = changed.username, changed.email
        await set_profile(session, username, Profile(email=email, email_verified=True))
        audit.record("email.changed", actor=audit.user(username), subject=username)
        return Confirmation(Outcome.CHANGED, username, email, replaced_email)
    sign_up = await pending_sign_up(store, token, spend=True)
    if sign_up is not None:
        return await _create_account(session, sign_up)
    return Confirmation(Outcome.INVALID)


async def _create_account(session: AsyncSession, sign_up: PendingSignUp) -> Confirmation:
    # An address that got an account meanwhile is told no more than a used link tells.
    if await users_with_email(session, sign_up.email):
        return Confirmation(Outcome.INVALID)
    profile = Profile(email=sign_up.email, email_verified=True)
    try:
        # The users table's unique name decides between sign-ups under one name confirmed at once.
        await create_user_with_hash(session, sign_up.username, sign_up.password_hash, profile=profile)
    except UserExistsError:
        return Confirmation(Outcome.USERNAME_TAKEN, sign_up.username, sign_up.email)
    return Confirmation(Outcome.CREATED, sign_up.username, sign_up.email)
