"""Passkeys (WebAuthn Level 3, with py_webauthn): the options of a registration or an assertion,
checking what the authenticator answered, and the user's list of them.

The relying party is the host of ISSUER (in development without it, of the request's base URL),
and its origin the only one accepted. Registration asks for a discoverable credential (resident
key), so a sign-in needs no username; attestation is not asked for (`none`): any authenticator
the user picks is accepted, its key trusted from then on. An assertion must come from a
credential of the user, for the challenge this service made (a ceremony's, taken once), and
count higher than the last one did when either count is nonzero: the new count is written with a
conditional UPDATE, so of two requests racing with one assertion only one gets in.
"""

import base64
import contextlib
import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json, parse_registration_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..audit import trail as audit
from ..storage.models import Passkey, User
from .authentication_methods import HARDWARE_KEY, SOFTWARE_KEY

# How long the browser and the user have for one ceremony; its challenge lives as long.
CEREMONY_SECONDS = 300
# Enough for every device a person has; a bound on the rows one account can add.
MAX_PASSKEYS = 20
MAX_NAME_LENGTH = 100
# What malformed input makes py_webauthn's parsers and checks raise, besides its own exceptions.
_MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError, OverflowError)


class PasskeyRefused(Exception):
    """A registration or assertion that does not hold; the reason is for the log, never the page."""


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str
    origin: str
    name: str


@dataclass(frozen=True, slots=True)
class UsedPasskey:
    """Whose passkey signed, and its `amr` value."""

    username: str
    method: str


def relying_party(issuer: str, name: str) -> RelyingParty:
    """The relying party of the service at ISSUER: its host as the RP ID, its scheme and host (and
    port) as the one origin the browser's answers may come from."""
    parts = urlsplit(issuer)
    return RelyingParty(id=parts.hostname or "", origin=f"{parts.scheme}://{parts.netloc}", name=name)


def registration_options(rp: RelyingParty, user: User, existing: Sequence[Passkey]) -> tuple[str, bytes]:
    """The JSON options of `navigator.credentials.create()` for USER, and their challenge. The
    user handle is the account's `subject`, random and never reused; the user's passkeys are
    excluded, so an authenticator that holds one does not make a second."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user.subject.encode(),
        user_name=user.username,
        user_display_name=user.name or user.username,
        timeout=CEREMONY_SECONDS * 1000,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
        exclude_credentials=[_descriptor(passkey) for passkey in existing],
    )
    return options_to_json(options), options.challenge


def authentication_options(
    rp: RelyingParty, passkeys: Sequence[Passkey], *, require_user_verification: bool
) -> tuple[str, bytes]:
    """The JSON options of `navigator.credentials.get()`, and their challenge: PASSKEYS to choose
    from, or (none given) any discoverable credential of this relying party, for a sign-in without
    a username."""
    requirement = (
        UserVerificationRequirement.REQUIRED if require_user_verification else UserVerificationRequirement.PREFERRED
    )
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=CEREMONY_SECONDS * 1000,
        allow_credentials=[_descriptor(passkey) for passkey in passkeys],
        user_verification=requirement,
    )
    return options_to_json(options), options.challenge


async def register(
    session: AsyncSession, rp: RelyingParty, username: str, credential: dict[str, Any], challenge: bytes, name: str
) -> None:
    """Add the passkey CREDENTIAL (the browser's answer to the registration options of CHALLENGE)
    to USERNAME's, as NAME; PasskeyRefused when it does not hold, is registered already, or the
    user has as many as allowed."""
    try:
        parsed = parse_registration_credential_json(credential)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_presence=True,
        )
    except _MALFORMED as exc:
        raise PasskeyRefused(f"registration refused: {type(exc).__name__}: {exc}") from None
    if await count_passkeys(session, username) >= MAX_PASSKEYS:
        raise PasskeyRefused("too many passkeys")
    transports = parsed.response.transports or []
    session.add(
        Passkey(
            username=username,
            credential_key=_credential_key(verified.credential_id),
            credential_id=_text(verified.credential_id),
            public_key=_text(verified.credential_public_key),
            sign_count=verified.sign_count,
            backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
            name=name,
            transports=" ".join(transport.value for transport in transports),
            created_at=int(time.time()),
        )
    )
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise PasskeyRefused("credential registered already") from None
    audit.record("factor.enrolled", actor=audit.user(username), subject=username, detail={"factor": "passkey"})


async def authenticate(
    session: AsyncSession,
    rp: RelyingParty,
    credential: dict[str, Any],
    challenge: bytes,
    *,
    username: str | None,
    require_user_verification: bool,
) -> UsedPasskey:
    """The passkey that signed CREDENTIAL (the browser's answer to the options of CHALLENGE), of
    USERNAME if given; its counter and last use are updated. PasskeyRefused when it does not hold."""
    with _refusal_recorded(username):
        try:
            parsed = parse_authentication_credential_json(credential)
        except _MALFORMED as exc:
            raise PasskeyRefused(f"assertion refused: {type(exc).__name__}") from None
        passkey = await session.scalar(select(Passkey).where(Passkey.credential_key == _credential_key(parsed.raw_id)))
        if passkey is None or (username is not None and passkey.username != username):
            raise PasskeyRefused("unknown credential")
        subject = await session.scalar(select(User.subject).where(User.username == passkey.username))
        handle = parsed.response.user_handle
        if subject is None or (handle is not None and handle != subject.encode()):
            raise PasskeyRefused("user handle of another account")
        stored_count = passkey.sign_count
        try:
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=challenge,
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                credential_public_key=base64.urlsafe_b64decode(passkey.public_key + "=="),
                credential_current_sign_count=stored_count,
                require_user_verification=require_user_verification,
            )
        except _MALFORMED as exc:
            raise PasskeyRefused(f"assertion refused: {type(exc).__name__}: {exc}") from None
        # Only over the count read above: of two assertions racing, the one that writes second finds it changed.
        taken = await session.execute(
            update(Passkey)
            .where(Passkey.id == passkey.id, Passkey.sign_count == stored_count)
            .values(sign_count=verified.new_sign_count, last_used_at=int(time.time()))
        )
        await session.commit()
        if not taken.rowcount:  # type: ignore[attr-defined]
            raise PasskeyRefused("counter changed meanwhile")
        used = UsedPasskey(passkey.username, method_of(passkey))
    audit.record(
        "sign_in.succeeded", actor=audit.user(used.username), subject=used.username, detail={"method": "passkey"}
    )
    return used


@contextlib.contextmanager
def _refusal_recorded(username: str | None) -> Iterator[None]:
    try:
        yield
    except PasskeyRefused as exc:
        detail: audit.Detail = {"method": "passkey", "reason": str(exc)}
        audit.record("sign_in.failed", outcome="failure", subject=username, detail=detail)
        raise


def method_of(passkey: Passkey) -> str:
    """`swk` for a passkey that may be synced to other devices (RFC 8176 has no closer word), `hwk`
    for one bound to its authenticator."""
    return SOFTWARE_KEY if passkey.backup_eligible else HARDWARE_KEY


async def passkeys_of(session: AsyncSession, username: str) -> list[Passkey]:
    found = await session.scalars(select(Passkey).where(Passkey.username == username).order_by(Passkey.id))
    return list(found)


async def count_passkeys(session: AsyncSession, username: str) -> int:
    count = await session.scalar(select(func.count()).select_from(Passkey).where(Passkey.username == username))
    return count or 0


async def remove_passkey(session: AsyncSession, username: str, passkey_id: int) -> bool:
    """Whether the passkey PASSKEY_ID of USERNAME was there to remove; another user's is never touched."""
    removed = await session.execute(delete(Passkey).where(Passkey.id == passkey_id, Passkey.username == username))
    await session.commit()
    if not removed.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record("factor.removed", actor=audit.on_behalf_of(username), subject=username, detail={"factor": "passkey"})
    return True


def passkey_name(given: str | None) -> str:
    """The user's label, trimmed to what a row holds; a dated one when none is given."""
    name = " ".join((given or "").split())[:MAX_NAME_LENGTH]
    return name if name.isprintable() and name else f"Passkey {datetime.now(UTC):%Y-%m-%d}"


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    transports = []
    for value in passkey.transports.split():
        try:
            transports.append(AuthenticatorTransport(value))
        except ValueError:
            continue  # a transport this version of py_webauthn does not know
    return PublicKeyCredentialDescriptor(id=_bytes(passkey.credential_id), transports=transports or None)


def _credential_key(credential_id: bytes) -> str:
    return hashlib.sha256(credential_id).hexdigest()


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
