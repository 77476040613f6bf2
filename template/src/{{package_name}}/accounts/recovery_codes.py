"""Recovery codes: ten single-use codes that stand in for a lost authenticator, shown once when
made and stored only as digests. Making them anew replaces every earlier one.

80 random bits each, so a SHA-256 digest is enough (nothing to guess from it); a code is used by
deleting its row, so of two requests racing with one code only one gets in.
"""

import base64
import hashlib
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import trail as audit
from ..storage.models import RecoveryCode

COUNT = 10
CODE_BYTES = 10
# Four groups of four: `abcd-efgh-ijkl-mnop`.
CODE_LENGTH = 19


def _new_code() -> str:
    letters = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii").lower()
    return "-".join(letters[start : start + 4] for start in range(0, len(letters), 4))


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def normalized(code: str) -> str | None:
    """A code as typed (any case, with or without its dashes and spaces) as it was made; None when
    it cannot be one."""
    letters = "".join(code.split()).replace("-", "").lower()
    if len(letters) != 16 or not letters.isascii() or not letters.isalnum():
        return None
    return "-".join(letters[start : start + 4] for start in range(0, 16, 4))


async def replace_codes(session: AsyncSession, username: str) -> list[str]:
    """New codes for USERNAME, in place of every earlier one; the codes themselves are not kept."""
    codes = [_new_code() for _ in range(COUNT)]
    await session.execute(delete(RecoveryCode).where(RecoveryCode.username == username))
    session.add_all(RecoveryCode(username=username, code_hash=_digest(code)) for code in codes)
    await session.commit()
    audit.record("recovery_codes.replaced", actor=audit.user(username), subject=username)
    return codes


async def use_code(session: AsyncSession, username: str, code: str) -> bool:
    """Whether CODE is an unused recovery code of the user's; it is used up now."""
    code = normalized(code) or ""
    if not code:
        return False
    used = await session.execute(
        delete(RecoveryCode).where(RecoveryCode.username == username, RecoveryCode.code_hash == _digest(code))
    )
    await session.commit()
    return bool(used.rowcount)  # type: ignore[attr-defined]


async def codes_left(session: AsyncSession, username: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(RecoveryCode).where(RecoveryCode.username == username)
    )
    return count or 0
