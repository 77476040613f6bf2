"""User accounts: the only module that reads or writes the users table."""

import secrets
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import ColumnElement, case, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import trail as audit
from ..storage.database import can_hold, end_read
from ..storage.models import Base, User
from . import password_policy
from .casefold import folded
from .passwords import MAX_PASSWORD_LENGTH, PasswordHasher
from .profiles import Profile

# The users table's limits: a longer name or address cannot exist, so it is refused before any work.
MAX_USERNAME_LENGTH = 150
MAX_EMAIL_LENGTH = 320
# What a username is made of.
USERNAME_PATTERN = r"^[A-Za-z0-9_.@+-]+$"


class UserExistsError(Exception):
    """A user with this name already exists."""


class UnknownUserError(Exception):
    """No user has this name."""


class NewUser(BaseModel):
    """What it takes to create a user; the CLI and the registration endpoint both check it."""

    username: str = Field(min_length=1, max_length=MAX_USERNAME_LENGTH, pattern=USERNAME_PATTERN)
    password: str = Field(min_length=password_policy.MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)

    @model_validator(mode="after")
    def _acceptable_password(self) -> "NewUser":
        if (problem := password_policy.problem(self.password, self.username)) is not None:
            raise ValueError(problem)
        return self


def username_key(username: str) -> str:
    """What two accounts may not share: their names compared without case, on every database."""
    return folded(username)


def email_key(email: str) -> str:
    """An address as it is looked up: without regard to case (which nearly every mail server ignores)."""
    return folded(email)


async def get_user(session: AsyncSession, username: str) -> User | None:
    """The user of this name: spelled exactly so, or else the one whose name differs only in case."""
    # A login may send any text; no user has a name the table could not hold.
    if len(username) > MAX_USERNAME_LENGTH or not can_hold(username):
        return None
    key = username_key(username)
    matches = select(User).where(or_(User.username == username, User.username_key == key))
    # Compared again here: MySQL's collations also ignore accents and trailing spaces, so its
    # `alicé ` would otherwise be alice, under failed-login counters of a name of its own.
    found = [user for user in await session.scalars(matches) if user.username == username or user.username_key == key]
    await end_read(session)
    return next((user for user in found if user.username == username), found[0] if found else None)


async def create_user(
    session: AsyncSession,
    passwords: PasswordHasher,
    new_user: NewUser,
    scopes: frozenset[str] = frozenset(),
    profile: Profile | None = None,
) -> User:
    password_hash = await passwords.hash(new_user.password)
    return await create_user_with_hash(session, new_user.username, password_hash, scopes, profile)


async def create_user_with_hash(
    session: AsyncSession,
    username: str,
    password_hash: str,
    scopes: frozenset[str] = frozenset(),
    profile: Profile | None = None,
    along: Sequence[Base] = (),
) -> User:
    """Create a user whose password was hashed already: by the sign-up page, which hashes in the
    request and creates the user later (USERNAME must have passed `NewUser`'s checks). ALONG are rows
    that belong to the new user (an upstream account's link), written in the same transaction: if any
    of them cannot be, there is no user either, and UserExistsError says so."""
    user = User(
        username=username,
        username_key=username_key(username),
        password_hash=password_hash,
        scopes=" ".join(sorted(scopes)),
        subject=new_subject(),
        **({} if profile is None else _profile_columns(profile)),
    )
    session.add(user)
    try:
        # The user first: the rows along refer to it.
        await session.flush()
        session.add_all(along)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise UserExistsError(username) from None
    audit.record(
        "user.created", actor=audit.on_behalf_of(username), subject=username, detail={"scopes": sorted(scopes)}
    )
    return user


async def set_password(session: AsyncSession, passwords: PasswordHasher, username: str, password: str) -> User:
    """Change the password; sign-ins and refresh tokens granted before now stop working. The user, as
    it was before. Call account_changes.change_password instead: it revokes the access tokens too."""
    user = await get_user(session, username)
    if user is None:
        raise UnknownUserError(username)
    NewUser(username=user.username, password=password)  # the same rules as for a new user
    values = {"password_hash": await passwords.hash(password), "credentials_changed_at": _changed_now()}
    await session.execute(update(User).where(User.id == user.id).values(**values))
    await session.commit()
    return user


async def set_profile(session: AsyncSession, username: str, profile: Profile) -> None:
    """Change the claims `profile` names; the others keep their values. A new address is not
    verified unless PROFILE says so. (A user loaded in SESSION before shows the new values after.)"""
    user = await get_user(session, username)
    if user is None:
        raise UnknownUserError(username)
    await session.execute(update(User).where(User.id == user.id).values(**profile_changes(user, profile)))
    await session.commit()


def profile_changes(user: User, profile: Profile) -> dict[str, Any]:
    """The columns PROFILE changes of USER's: a new address is not verified unless PROFILE says so."""
    columns = _profile_columns(profile)
    if profile.email is not None and profile.email != user.email and profile.email_verified is None:
        columns["email_verified"] = False
    return columns


async def find_users(session: AsyncSession, *, search: str | None, after_id: int, limit: int) -> list[User]:
    """Up to LIMIT users created after the one AFTER_ID numbers, oldest first; with SEARCH, only those
    whose name or e-mail address holds it, without regard to case."""
    query = select(User).where(User.id > after_id).order_by(User.id).limit(limit)
    if search:
        if not can_hold(search):
            return []
        key = folded(search)
        query = query.where(
            or_(
                User.username.contains(search, autoescape=True),
                User.username_key.contains(key, autoescape=True),
                User.email_key.contains(key, autoescape=True),
            )
        )
    users = list(await session.scalars(query))
    await end_read(session)
    return users


async def change_user_as_read(session: AsyncSession, user: User, values: dict[str, Any]) -> bool:
    """Write VALUES to USER's row unless one of the columns an operator sees (ADMIN_COLUMNS) changed
    since USER was read; whether it was written. Of two operators who read the same user, one wins."""
    as_read = [getattr(User, column).is_not_distinct_from(getattr(user, column)) for column in ADMIN_COLUMNS]
    written = await session.execute(update(User).where(User.id == user.id, *as_read).values(**values))
    await session.commit()
    return bool(getattr(written, "rowcount", 0))


# What the admin API shows of a user and lets an operator change.
ADMIN_COLUMNS = ("disabled", "scopes", "name", "given_name", "family_name", "email", "email_verified")


def _profile_columns(profile: Profile) -> dict[str, Any]:
    columns = profile.columns()
    if profile.email is not None:
        columns["email_key"] = email_key(profile.email)
    return columns


async def users_with_email(session: AsyncSession, email: str) -> list[User]:
    """The active users whose address is EMAIL, whatever its case; none for text no address can be."""
    if len(email) > MAX_EMAIL_LENGTH or not can_hold(email):
        return []
    found = list(
        await session.scalars(select(User).where(User.email_key == email_key(email), User.disabled.is_(False)))
    )
    await end_read(session)
    return found


async def mark_email_verified(session: AsyncSession, username: str, email: str) -> None:
    """Record EMAIL as verified for the user, if it is still the user's address."""
    await session.execute(
        update(User)
        .where(User.username == username, User.email == email)
        .values(email_verified=True, updated_at=int(time.time()))
    )
    await session.commit()


async def end_sign_ins(session: AsyncSession, username: str) -> User:
    """End every sign-in of the user's browsers and every refresh grant begun until now, as a
    password change does, without one. The user, as it was. Call account_changes.sign_out_everywhere
    instead: it revokes the access tokens too."""
    user = await get_user(session, username)
    if user is None:
        raise UnknownUserError(username)
    await session.execute(update(User).where(User.id == user.id).values(credentials_changed_at=_changed_now()))
    await session.commit()
    return user


def _changed_now() -> ColumnElement[int]:
    """`credentials_changed_at` for a change now: the current second, or the second after the last
    change if that was this second already. A sign-in made just after a change begins in the second
    after it (web/sign_ins.py), and a second change within the same second must end it too."""
    now = int(time.time())
    return case((User.credentials_changed_at >= now, User.credentials_changed_at + 1), else_=literal(now))


def new_subject() -> str:
    """A user's OpenID Connect `sub`: 128 random bits, so it says nothing of the name or the count of users."""
    return secrets.token_urlsafe(16)


async def disable_user(session: AsyncSession, username: str) -> User:
    """Disable the account for good: its sign-ins and refresh tokens end with it, as they do when
    the password changes, so none comes back if the account is enabled again. The user, as it was.
    Call account_changes.disable_account instead: it revokes the access tokens too."""
    user = await get_user(session, username)
    if user is None:
        raise UnknownUserError(username)
    values = {"disabled": True, "credentials_changed_at": _changed_now()}
    await session.execute(update(User).where(User.id == user.id).values(**values))
    await session.commit()
    return user


async def enable_user(session: AsyncSession, username: str) -> User:
    """Let a disabled user sign in again: the sign-ins and tokens that ended with the disabling stay
    ended. The user, as it was."""
    user = await get_user(session, username)
    if user is None:
        raise UnknownUserError(username)
    await session.execute(update(User).where(User.id == user.id).values(disabled=False))
    await session.commit()
    audit.record("user.enabled", actor=audit.on_behalf_of(user.username), subject=user.username)
    return user


async def authenticate(session: AsyncSession, passwords: PasswordHasher, username: str, password: str) -> User | None:
    """The active user with these credentials, or None; rehashes outdated password hashes.

    No connection is held while the password is hashed (see `end_read`)."""
    user = await get_user(session, username)
    valid, new_hash = await passwords.verify(password, user.password_hash if user else None)
    if user is None or not valid or user.disabled:
        return None
    if new_hash is not None:
        user.password_hash = new_hash
        await session.commit()
    return user


async def grant_holder(session: AsyncSession, record: dict[str, Any]) -> User | None:
    """The user a refresh token or an authorization code acts for; None once that user is gone,
    disabled, or has changed password since the login the grant began with."""
    user = await get_user(session, record["subject"])
    if user is None or user.disabled or user.credentials_changed_at >= record["auth_time"]:
        return None
    return user
