"""Password hashing with Argon2 in worker threads, bounded: a burst of logins hashes about one
password per core at a time, lets a few more wait, and refuses the rest at once, so it never
stalls other requests or waits out a timeout.

A login takes its place (`slot`) before any other work, so the logins refused cost nothing but
the refusal: no database query, no counter. The hashing threads run at a lower priority than the
event loop (the lowest there is), so while a storm keeps every core busy the requests that need
no hash come first.
Argon2's cost comes from the settings; a hash made with other parameters, or a bcrypt hash
imported from another system, still verifies and is replaced at the user's next login.
"""

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from ..config import Settings
from ..observability.metrics import PASSWORD_HASHING_ADMITTED, PASSWORD_HASHING_SHED

# Longer passwords are refused before hashing, so a huge one cannot tie up a worker.
MAX_PASSWORD_LENGTH = 1024

Result = TypeVar("Result")

# Whether the current request already holds a place: taking one again inside it is free.
_holding_slot: ContextVar[bool] = ContextVar("holding_password_slot", default=False)


def is_acceptable(password: str) -> bool:
    """Short enough to hash, and text that UTF-8 can encode (JSON can carry lone surrogates)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        password.encode()
    except UnicodeEncodeError:
        return False
    return True


# The password hash of a user who has none (one who signed up through another provider): no
# password matches it, and a password reset sets one.
NO_PASSWORD = "!"


class PasswordHashingBusy(Exception):
    """Every hashing slot is taken and the queue is full: the caller should try again shortly."""


class PasswordHasher:
    def __init__(self, hash_function: PasswordHash, concurrency: int, queue: int) -> None:
        self._hash = hash_function
        self._workers = ThreadPoolExecutor(concurrency, "password-hashing", initializer=_yield_to_requests)
        self._capacity = concurrency + queue
        self._admitted = 0
        self._dummy_hash: str | None = None

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """A place among the passwords being checked or waiting: PasswordHashingBusy when none is free."""
        if _holding_slot.get():
            yield
            return
        if self._admitted >= self._capacity:
            PASSWORD_HASHING_SHED.inc()
            raise PasswordHashingBusy
        self._admitted += 1
        PASSWORD_HASHING_ADMITTED.inc()
        holding = _holding_slot.set(True)
        try:
            yield
        finally:
            _holding_slot.reset(holding)
            self._admitted -= 1
            PASSWORD_HASHING_ADMITTED.dec()

    async def hash(self, password: str) -> str:
        return await self._run(self._hash.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Whether the password matches, and a fresh hash when the stored one is outdated."""
        if not is_acceptable(password):
            return False, None
        if password_hash is None or password_hash == NO_PASSWORD:
            await self._run(self._verify_against_dummy, password)
            return False, None
        return await self._run(self._hash.verify_and_update, password, password_hash)

    def _verify_against_dummy(self, password: str) -> None:
        # A user that does not exist costs the same as one that does, so response time does not
        # reveal which usernames exist. Made on first need: importing or starting costs no hash.
        if self._dummy_hash is None:
            self._dummy_hash = self._hash.hash("not a real password")
        self._hash.verify(password, self._dummy_hash)

    async def _run(self, function: Callable[..., Result], *args: str) -> Result:
        with self.slot():
            return await asyncio.get_running_loop().run_in_executor(self._workers, function, *args)

    def close(self) -> None:
        self._workers.shutdown(wait=False, cancel_futures=True)


def _yield_to_requests() -> None:
    # Linux schedules each thread on its own niceness, and Argon2's lane threads inherit it.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def password_hasher(settings: Settings) -> PasswordHasher:
    argon2 = Argon2Hasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    hash_function = PasswordHash((argon2, BcryptHasher()))
    return PasswordHasher(hash_function, settings.password_hashing_concurrency, settings.password_hashing_queue)
