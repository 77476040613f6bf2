"""A user's second factors (an authenticator app, passkeys), what the MFA setting asks of each
sign-in, and removing them."""

from dataclasses import dataclass
from enum import Enum

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit import trail as audit
from ..config import Settings
from ..storage.models import Passkey, RecoveryCode, TotpAuthenticator
from . import passkeys, recovery_codes, totp
from .secret_encryption import SecretBox


class CodeKind(Enum):
    AUTHENTICATOR = "authenticator"
    RECOVERY = "recovery"


class SecondStep(Enum):
    """What a sign-in needs after the password."""

    NONE = "none"
    # A code from the user's authenticator, a recovery code, or a passkey.
    CODE = "code"
    # MFA=required and the user has no second factor yet: one is set up first.
    ENROLL = "enroll"


@dataclass(frozen=True, slots=True)
class Factors:
    authenticator_app: bool
    recovery_codes: int
    passkeys: int = 0

    @property
    def any(self) -> bool:
        return self.authenticator_app or self.passkeys > 0


async def factors_of(session: AsyncSession, username: str) -> Factors:
    authenticator = await session.get(TotpAuthenticator, username)
    recovery = await recovery_codes.codes_left(session, username)
    keys = await passkeys.count_passkeys(session, username)
    return Factors(authenticator_app=authenticator is not None, recovery_codes=recovery, passkeys=keys)


async def second_step(session: AsyncSession, settings: Settings, username: str) -> SecondStep:
    """What a sign-in of USERNAME needs after the password, by MFA: nothing when it is off; the
    second factor of a user who has one; and, when it is required, one set up by a user who has none."""
    if settings.mfa == "off":
        return SecondStep.NONE
    if (await factors_of(session, username)).any:
        return SecondStep.CODE
    return SecondStep.ENROLL if settings.mfa == "required" else SecondStep.NONE


async def remove_factors(session: AsyncSession, username: str) -> None:
    """Remove the user's authenticator, recovery codes and passkeys (an operator's `reset-mfa`)."""
    await session.execute(delete(Passkey).where(Passkey.username == username))
    await _delete_authenticator(session, username)


async def remove_authenticator(session: AsyncSession, username: str) -> None:
    """Remove the user's authenticator app and the recovery codes that stand in for it; passkeys stay."""
    await _delete_authenticator(session, username)
    audit.record(
        "factor.removed", actor=audit.on_behalf_of(username), subject=username, detail={"factor": "authenticator"}
    )


async def _delete_authenticator(session: AsyncSession, username: str) -> None:
    await session.execute(delete(TotpAuthenticator).where(TotpAuthenticator.username == username))
    await session.execute(delete(RecoveryCode).where(RecoveryCode.username == username))
    await session.commit()


async def check_code(session: AsyncSession, box: SecretBox, username: str, code: str, now: float) -> CodeKind | None:
    """Which of the user's codes CODE is, an authenticator's (six digits) or a recovery code, now
    used; None when it is neither."""
    kind = await _checked_code(session, box, username, code, now)
    if kind is None:
        audit.record("second_factor.failed", outcome="failure", subject=username)
    else:
        audit.record(
            "second_factor.succeeded", actor=audit.user(username), subject=username, detail={"factor": kind.value}
        )
    return kind


async def _checked_code(session: AsyncSession, box: SecretBox, username: str, code: str, now: float) -> CodeKind | None:
    if len(totp.normalized_code(code)) == totp.DIGITS:
        return CodeKind.AUTHENTICATOR if await totp.check_code(session, box, username, code, now) else None
    return CodeKind.RECOVERY if await recovery_codes.use_code(session, username, code) else None
