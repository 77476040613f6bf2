"""Time-based one-time passwords (RFC 6238) from an authenticator app: enrollment, confirmed by a
first code, and the check at sign-in.

Six digits, 30-second steps, HMAC-SHA1 (what every authenticator app reads from an
`otpauth://` URI), and a step of drift either way. A code is never accepted twice (§5.2): the step
of the last code accepted is kept per user and a code is taken only for a later step, with one
conditional UPDATE, so of two requests racing with one code only one gets in.
"""

import hmac
from dataclasses import dataclass

import pyotp
from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import trail as audit
from ..storage.models import TotpAuthenticator
from ..storage.record_keys import store_key
from ..storage.token_store import TokenStore
from .secret_encryption import SecretBox

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
# 32 base32 characters: 160 bits, RFC 4226 §4's recommended length.
SECRET_LENGTH = 32
# How long an enrollment may wait for its first code.
ENROLLMENT_SECONDS = 900


@dataclass(frozen=True, slots=True)
class Enrollment:
    """A secret on its way to the user's app: shown as text, as an `otpauth://` URI and as a QR code."""

    secret: str
    uri: str


def matching_step(secret: str, code: str, now: float, digits: int = DIGITS) -> int | None:
    """The time step, within the drift either side of NOW's, whose code CODE is; None if none."""
    if len(code) != digits or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def normalized_code(code: str) -> str:
    """A code as typed, without the spaces that apps show in the middle of it."""
    return "".join(code.split())


async def begin_enrollment(
    store: TokenStore, box: SecretBox, username: str, issuer_name: str, holder: str
) -> Enrollment:
    """A fresh secret for USERNAME, kept encrypted for HOLDER (the browser's sign-in that asked for
    it, and no other) until a first code confirms it; a newer one replaces it."""
    secret = pyotp.random_base32(SECRET_LENGTH)
    await store.put(_enrollment_key(username, holder), {"secret": box.encrypt(secret)}, ENROLLMENT_SECONDS)
    return enrollment_of(secret, username, issuer_name)


async def pending_enrollment(
    store: TokenStore, box: SecretBox, username: str, issuer_name: str, holder: str
) -> Enrollment | None:
    """The enrollment HOLDER began for USERNAME, waiting for its first code, if any."""
    pending = await store.get(_enrollment_key(username, holder))
    secret = None if pending is None else box.decrypt(pending["secret"])
    return None if secret is None else enrollment_of(secret, username, issuer_name)


def enrollment_of(secret: str, username: str, issuer_name: str) -> Enrollment:
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    return Enrollment(secret, totp.provisioning_uri(name=username, issuer_name=issuer_name))


def new_secret() -> str:
    return pyotp.random_base32(SECRET_LENGTH)


async def confirm_enrollment(
    session: AsyncSession, store: TokenStore, box: SecretBox, username: str, holder: str, code: str, now: float
) -> bool:
    """Whether CODE, from the secret HOLDER is enrolling, makes it the user's authenticator; the
    enrollment is spent."""
    key = _enrollment_key(username, holder)
    pending = await store.get(key)
    if pending is None:
        return False
    secret = box.decrypt(pending["secret"])
    if secret is None or matching_step(secret, normalized_code(code), now) is None:
        return False
    claimed = await store.claim(key)
    if claimed is None or claimed[1] is not None or claimed[0]["secret"] != pending["secret"]:
        return False  # confirmed or replaced by another request meanwhile
    return await bind(session, box, username, secret, code, now)


async def bind(session: AsyncSession, box: SecretBox, username: str, secret: str, code: str, now: float) -> bool:
    """Whether CODE is one of SECRET's now; it then becomes the user's authenticator, the code
    counting as used."""
    step = matching_step(secret, normalized_code(code), now)
    if step is None:
        return False
    await session.merge(TotpAuthenticator(username=username, encrypted_secret=box.encrypt(secret), last_used_step=step))
    await session.commit()
    audit.record("factor.enrolled", actor=audit.user(username), subject=username, detail={"factor": "authenticator"})
    return True


async def check_code(session: AsyncSession, box: SecretBox, username: str, code: str, now: float) -> bool:
    """Whether CODE is a current code of the user's authenticator not used before; it is used now."""
    authenticator = await session.get(TotpAuthenticator, username)
    if authenticator is None:
        return False
    secret = box.decrypt(authenticator.encrypted_secret)
    step = None if secret is None else matching_step(secret, normalized_code(code), now)
    if step is None:
        return False
    taken = await session.execute(
        update(TotpAuthenticator)
        .where(TotpAuthenticator.username == username)
        .where(or_(TotpAuthenticator.last_used_step.is_(None), TotpAuthenticator.last_used_step < step))
        .values(last_used_step=step)
    )
    await session.commit()
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def _enrollment_key(username: str, holder: str) -> str:
    return store_key("totp-enrollment", username, holder)
