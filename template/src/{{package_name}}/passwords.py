"""Password hashing with Argon2, run in a worker thread so a login never stalls other requests.

bcrypt hashes (imported from another system) still verify, and are replaced by Argon2 ones at
the next successful login.
"""

from anyio import to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

# Longer passwords are refused before hashing, so a huge one cannot tie up a worker.
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHash((Argon2Hasher(), BcryptHasher()))
# Verify against a dummy hash when the user does not exist, so response time does not
# reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not a real password")


async def hash_password(password: str) -> str:
    return await to_thread.run_sync(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Return whether the password matches, and a fresh hash when the stored one is outdated."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False, None
    if password_hash is None:
        await to_thread.run_sync(_hasher.verify, password, _DUMMY_HASH)
        return False, None
    return await to_thread.run_sync(_hasher.verify_and_update, password, password_hash)
