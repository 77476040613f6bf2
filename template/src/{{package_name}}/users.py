"""User accounts: the only module that reads or writes the users table."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .models import User
from .passwords import hash_password, verify_password


class UserExistsError(Exception):
    """A user with this name already exists."""


async def get_user(session: AsyncSession, username: str) -> User | None:
    user: User | None = await session.scalar(select(User).where(User.username == username))
    return user


async def create_user(
    session: AsyncSession, username: str, password: str, scopes: frozenset[str] = frozenset()
) -> User:
    user = User(username=username, password_hash=await hash_password(password), scopes=" ".join(sorted(scopes)))
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise UserExistsError(username) from None
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with these credentials, or None; rehashes outdated password hashes."""
    user = await get_user(session, username)
    valid, new_hash = await verify_password(password, user.password_hash if user else None)
    if user is None or not valid or user.disabled:
        return None
    if new_hash is not None:
        user.password_hash = new_hash
        await session.commit()
    return user
