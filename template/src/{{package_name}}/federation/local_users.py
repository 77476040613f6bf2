"""Which local user an upstream account signs in as: the user it is linked to; else, where the
operator allows it, the one user whose address the provider vouches for, or a new user."""

import re
import secrets
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ..accounts.passwords import NO_PASSWORD
from ..accounts.profiles import Profile
from ..accounts.users import (
    MAX_USERNAME_LENGTH,
    UserExistsError,
    create_user_with_hash,
    get_user,
    users_with_email,
)
from ..storage.models import User
from ..upstream_providers import UpstreamProvider
from .identities import IdentityTaken, find_identity, link_identity, new_identity, note_use, record_link
from .upstream_clients import UpstreamAccount

# What a new user's name is made of: the provider's username (or the address's local part) in the
# characters usernames may hold, and digits when it is taken.
NOT_IN_USERNAMES = re.compile(r"[^A-Za-z0-9_.+-]+")
BASE_LENGTH = 40
NAME_ATTEMPTS = 5


class NoLocalAccount(Exception):
    """No user is linked to the account, and none may be created for it: the reason, for the page."""


class NewUsersLimited(NoLocalAccount):
    """A user would be created, but the caller's address has created as many as it may for now."""


async def user_for(
    session: AsyncSession,
    provider: UpstreamProvider,
    account: UpstreamAccount,
    *,
    registration_open: bool,
    admit_new_user: Callable[[], Awaitable[bool]],
) -> tuple[User, bool]:
    """The user ACCOUNT signs in as (disabled users are the caller's to refuse), and whether ACCOUNT
    was linked to that existing user just now, by its address (its owner is told); NoLocalAccount when
    there is none. ADMIT_NEW_USER says whether a user may be created now (the registration limits)."""
    identity = await find_identity(session, provider, account.subject)
    if identity is not None:
        user = await get_user(session, identity.username)
        if user is None:  # deleted between the two reads: its identities went with it
            raise NoLocalAccount("The account this sign-in was linked to no longer exists.")
        await note_use(session, identity, account.email)
        return user, False
    if provider.auto_link_verified_email and account.email is not None and account.email_verified:
        # Only an address this service verified itself: those providers give are stored unverified.
        holders = [user for user in await users_with_email(session, account.email) if user.email_verified]
        if len(holders) == 1:
            linked = await _linked(session, provider, account, holders[0])
            return linked, linked.username == holders[0].username
    creates = registration_open if provider.create_users is None else provider.create_users
    if not creates:
        raise NoLocalAccount(
            f"No account here is linked to this {provider.display_name} account. Sign in another way, "
            f"then link {provider.display_name} on your account page."
        )
    if not await admit_new_user():
        raise NewUsersLimited("Too many accounts were made from your address; try again later.")
    return await _new_user(session, provider, account), False


async def _linked(session: AsyncSession, provider: UpstreamProvider, account: UpstreamAccount, user: User) -> User:
    try:
        await link_identity(session, provider, account.subject, user.username, account.email)
    except IdentityTaken:
        # Linked in another request meanwhile (a double click): that link decides.
        return await _user_linked_meanwhile(session, provider, account)
    return user


async def _new_user(session: AsyncSession, provider: UpstreamProvider, account: UpstreamAccount) -> User:
    """A new user without a password (one can be set with a password reset), with the provider's
    name and address (`_profile`), and linked to ACCOUNT in the same transaction: a sign-in that
    loses a race to link it leaves no user behind."""
    # An address another user has stays theirs alone: the new user gets none (and no one learns whose it is).
    taken = account.email is not None and bool(await users_with_email(session, account.email))
    profile = _profile(account, with_email=not taken)
    base = _username_base(account)
    for attempt in range(NAME_ATTEMPTS):
        username = base if attempt == 0 else f"{base}-{secrets.randbelow(10**6):06d}"
        identity = new_identity(provider, account.subject, username, account.email)
        try:
            user = await create_user_with_hash(session, username, NO_PASSWORD, profile=profile, along=[identity])
        except UserExistsError:
            # The name is taken, or the account was linked meanwhile: then that link decides.
            if await find_identity(session, provider, account.subject) is not None:
                return await _user_linked_meanwhile(session, provider, account)
            continue
        record_link(provider, username)
        return user
    raise NoLocalAccount("No username could be found for this account; try again.")


async def _user_linked_meanwhile(session: AsyncSession, provider: UpstreamProvider, account: UpstreamAccount) -> User:
    identity = await find_identity(session, provider, account.subject)
    linked = await get_user(session, identity.username) if identity is not None else None
    if linked is None:
        raise NoLocalAccount("This sign-in could not be linked to an account; try again.")
    return linked


def _username_base(account: UpstreamAccount) -> str:
    for candidate in (account.preferred_username, (account.email or "").partition("@")[0]):
        cleaned = NOT_IN_USERNAMES.sub("-", candidate or "").strip("-.")[:BASE_LENGTH]
        if cleaned:
            return cleaned
    return "user"


def _profile(account: UpstreamAccount, *, with_email: bool) -> Profile | None:
    """The new user's name, and the address only when the provider vouches for it. Even then it is
    not verified here: only a link this service mailed verifies an address, so that a provider that
    vouches too easily can neither have it shown to clients as verified nor have accounts of other
    providers linked to it automatically."""
    email = account.email if with_email and account.email_verified else None
    try:
        return Profile(name=account.name, email=email, email_verified=False if email is not None else None)
    except ValidationError:
        # An address or a name this service cannot hold: the user sets theirs on the account page.
        return None


assert BASE_LENGTH + 7 <= MAX_USERNAME_LENGTH
