"""The SQL database: sessions from a pool that fails fast when the database is away and recovers when
it is back, its reachability, and a session for a command. The engine is made in engine.py, which is
SQLite's or a database server's."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ..config import Settings
from .engine import create_engine as create_engine  # made here for every caller

# What a lost or unreachable database raises: the service answers 503, and the pool
# reconnects on a later request.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError, OSError, TimeoutError)
# What a command may meet besides: a database that does not exist, a user without access.
UNUSABLE_ERRORS = (*UNAVAILABLE_ERRORS, DBAPIError)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def can_hold(text: str) -> bool:
    """Whether a text column could hold `text`: PostgreSQL refuses a NUL, even to compare with, and no
    database a lone surrogate (JSON's `\\ud800`), which no UTF-8 encodes."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


async def end_read(session: AsyncSession) -> None:
    """End the transaction a read began, so its connection goes back to the pool at once.

    A request then never holds a connection while it waits for something else: a password hash,
    or another connection for the token store. Holding one there let a burst of logins take every
    pooled connection and wait for more until the pool timed out. Loaded objects stay usable.
    """
    await session.commit()


async def prepare_database(engine: AsyncEngine, settings: Settings) -> None:
    """In development, bring the schema up to date; in production that is `python -m ... migrate`."""
    if settings.is_development and settings.auto_migrate:
        # Imported only here: a production server never loads Alembic, which costs 11 MB of memory.
        from . import schema

        await schema.upgrade(engine)


@contextlib.asynccontextmanager
async def command_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session for one command, on a database prepared as the service prepares it at start (so a
    command works on a fresh project); its connections are closed afterwards."""
    engine = create_engine(settings)
    try:
        await prepare_database(engine, settings)
        async with session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def check_connection(engine: AsyncEngine, within_seconds: float) -> None:
    """Connect and run `SELECT 1`; raises what an unreachable server or a missing database raises."""
    async with asyncio.timeout(within_seconds), engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def database_is_reachable(sessions: async_sessionmaker[Any], within_seconds: float) -> bool:
    """Whether the database answers `SELECT 1` within the time given."""
    try:
        async with asyncio.timeout(within_seconds), sessions() as session:
            await session.execute(text("SELECT 1"))
    except UNAVAILABLE_ERRORS:
        return False
    return True


def describe_failure(settings: Settings, exc: BaseException) -> str:
    """One line naming the database (its password hidden) and what went wrong, for the commands."""
    url = make_url(settings.database_url.get_secret_value()).render_as_string(hide_password=True)
    cause = getattr(exc, "orig", None) or exc
    reason = next(iter(str(cause).strip().splitlines()), type(cause).__name__)
    return f"the database at {url} cannot be used: {reason}"
