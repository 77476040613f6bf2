"""The RS256 key pairs that sign ID tokens, in every variant, read once at start-up.

They are kept apart from the access-token keys: an HS* service shares its access-token secret with
nobody, yet relying parties must verify its ID tokens with a published key. `rotate-key` makes a new
pair and keeps the old public key in ID_TOKEN_PREVIOUS_KEYS_DIR (`RETIRED_AT..NOT_AFTER-KID.pem`, see
retired_keys) until the ID tokens it signed have expired; `rotate-key --prepare` stages the next pair in ID_TOKEN_NEXT_KEY_FILE,
published by every instance before any instance signs with it.
"""

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from ..config import Settings
from .retired_keys import Retirement, in_force, parse_retirement, retire, too_late

ALGORITHM = "RS256"
MIN_RSA_BITS = 2048

logger = logging.getLogger(__name__)


class IdTokenKeyError(Exception):
    """The configured ID token keys cannot be used."""


@dataclass(frozen=True, slots=True)
class IdTokenKeySet:
    kid: str
    signing_key: RSAKey
    public_keys: Mapping[str, RSAKey]  # by kid; the signing key's own included
    # Of the previous keys, by kid: when each stops verifying, and which ID tokens it vouches for.
    retirements: Mapping[str, Retirement]

    def jwks(self, now: float) -> list[dict[str, Any]]:
        """The public halves that verify at NOW as RFC 7517 JWKs: never anything private."""
        return [
            {**key.as_dict(private=False), "kid": kid, "alg": ALGORITHM, "use": "sig"}
            for kid, key in self.public_keys.items()
            if in_force(self.retirements, kid, now)
        ]


def load_id_token_keys(settings: Settings) -> IdTokenKeySet:
    """The current key pair, the unexpired previous public keys and the staged next one."""
    signing_key = _load_private_key(settings)
    kid = signing_key.thumbprint()
    keys = {kid: _public(signing_key)}
    retirements: dict[str, Retirement] = {}
    now = time.time()
    for previous, retirement in _previous_key_files(settings, now):
        if too_late(retirement, now):
            raise IdTokenKeyError(
                f"{previous}: it verifies until {retirement.not_after}, later than any ID token may live "
                "(a day and the largest leeway from now)"
            )
        key = _parse(previous.read_bytes(), f"{previous}")
        keys.setdefault(key.thumbprint(), key)
        retirements.setdefault(key.thumbprint(), retirement)
    if settings.id_token_next_key_file.is_file():
        staged = _parse(settings.id_token_next_key_file.read_bytes(), "ID_TOKEN_NEXT_KEY_FILE", private=True)
        keys.setdefault(staged.thumbprint(), _public(staged))
    retirements.pop(kid, None)  # signing again: it vouches for every ID token
    return IdTokenKeySet(kid, signing_key, MappingProxyType(keys), MappingProxyType(retirements))


def check_preparation(settings: Settings) -> None:
    """What `prepare_next_id_token_key` needs, checked before `rotate-key --prepare` stages any key."""
    path = settings.id_token_next_key_file
    if path.exists():
        raise IdTokenKeyError(f"{path} holds a next ID token key already: rotate-key signs with it")


def prepare_next_id_token_key(settings: Settings) -> str:
    """Stage the next key pair, to be published by every instance before it signs."""
    check_preparation(settings)
    path = settings.id_token_next_key_file
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = _generate()
    _write_atomically(path, key.as_pem(private=True), 0o600, replace=False)
    return key.thumbprint()


def check_rotation(settings: Settings) -> None:
    """What `rotate_id_token_keys` needs, checked before `rotate-key` rotates any key: so that the
    access-token key is never rotated while this one cannot be."""
    if settings.id_token_private_key is not None:
        raise IdTokenKeyError(
            "ID_TOKEN_PRIVATE_KEY comes from the environment: set a new one there and put the old public key "
            f"in {settings.id_token_previous_keys_dir} as RETIRED_AT..NOT_AFTER-KID.pem (Unix seconds: now, and now "
            "plus the ID token lifetime and leeway)"
        )
    load_id_token_keys(settings)
    staged = settings.id_token_next_key_file
    if staged.is_file():
        _parse(staged.read_bytes(), "ID_TOKEN_NEXT_KEY_FILE", private=True)


def rotate_id_token_keys(settings: Settings) -> tuple[str, str]:
    """Sign with the staged next key (or a new one); publish the old public key until its ID tokens expire."""
    check_rotation(settings)
    old = load_id_token_keys(settings)
    now = time.time()
    retirement = retire(now, _last_token_seconds(settings))
    directory = settings.id_token_previous_keys_dir
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_atomically(directory / f"{retirement}-{old.kid}.pem", old.signing_key.as_pem(private=False), 0o644)
    kept = {path for path, _ in _previous_key_files(settings, now)}
    for expired in set(directory.glob("*.pem")) - kept:
        expired.unlink()
    staged = settings.id_token_next_key_file
    new_key = _parse(staged.read_bytes(), "ID_TOKEN_NEXT_KEY_FILE", private=True) if staged.is_file() else _generate()
    _write_atomically(settings.id_token_key_file, new_key.as_pem(private=True), 0o600)
    staged.unlink(missing_ok=True)
    return old.kid, new_key.thumbprint()


def _load_private_key(settings: Settings) -> RSAKey:
    if settings.id_token_private_key is not None:
        return _parse(settings.id_token_private_key.get_secret_value().encode(), "ID_TOKEN_PRIVATE_KEY", private=True)
    path = settings.id_token_key_file
    if path.is_file():
        return _parse(path.read_bytes(), "ID_TOKEN_KEY_FILE", private=True)
    if not settings.is_development:
        raise IdTokenKeyError(
            f"an ID token key is required in production: set ID_TOKEN_PRIVATE_KEY or ID_TOKEN_KEY_FILE "
            f"({path} does not exist)"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = _generate()
    try:
        _write_atomically(path, key.as_pem(private=True), 0o600, replace=False)
    except FileExistsError:  # another worker was first: use its key
        return _parse(path.read_bytes(), "ID_TOKEN_KEY_FILE", private=True)
    logger.warning("Created a development ID token key in %s (kept out of git)", path)
    return key


def _parse(pem: bytes, source: str, private: bool = False) -> RSAKey:
    try:
        key = RSAKey.import_key(pem)
    except (JoseError, ValueError, TypeError) as exc:
        raise IdTokenKeyError(f"{source} is not an RSA PEM key: {type(exc).__name__}") from None
    if private and not key.is_private:
        raise IdTokenKeyError(f"{source} holds a public key; it must be the private key")
    size = key.public_key.key_size
    if size < MIN_RSA_BITS:
        raise IdTokenKeyError(f"{source}: {ALGORITHM} needs an RSA key of at least {MIN_RSA_BITS} bits, not {size}")
    return key


def _public(key: RSAKey) -> RSAKey:
    return RSAKey.import_key(key.as_dict(private=False))


def _generate() -> RSAKey:
    return RSAKey.generate_key(MIN_RSA_BITS, private=True)


def _last_token_seconds(settings: Settings) -> int:
    """How long after a rotation an ID token the old key signed may still verify."""
    return settings.id_token_seconds + settings.leeway_seconds


def _previous_key_files(settings: Settings, now: float) -> list[tuple[Path, Retirement]]:
    """Files named RETIRED_AT..NOT_AFTER-KID.pem (or NOT_AFTER-KID.pem) whose NOT_AFTER has not passed."""
    found = []
    for path in sorted(settings.id_token_previous_keys_dir.glob("*.pem")):
        retirement = parse_retirement(path.name.partition("-")[0], _last_token_seconds(settings))
        if retirement is not None and retirement.in_force(now):
            found.append((path, retirement))
    return found


def _write_atomically(path: Path, content: bytes, mode: int, replace: bool = True) -> None:
    """Write aside, then move into place: readers never see half a key."""
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(content)
    try:
        if replace:
            os.replace(draft, path)
        else:
            os.link(draft, path)  # fails if the path exists
    finally:
        draft.unlink(missing_ok=True)
