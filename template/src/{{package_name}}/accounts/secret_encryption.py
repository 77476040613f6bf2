"""Second-factor secrets at rest (the TOTP shared secrets): encrypted with keys from the settings,
never from the database, so that a copy of the database alone does not yield them.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`). The first of TOTP_ENCRYPTION_KEYS
encrypts; every one of them decrypts, so a new key can be put first while the old ones still read
what they encrypted. In development without the setting, a key is made once in a file of its own.
"""

import logging
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..config import Settings

logger = logging.getLogger(__name__)

DEVELOPMENT_KEY_FILE = Path("var/keys/totp_encryption.key")


class SecretBox:
    """Encrypts and decrypts secrets with the configured keys."""

    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def decrypt(self, encrypted: str) -> str | None:
        """The secret; None when no configured key encrypted it (a key was dropped too soon)."""
        try:
            return self._fernet.decrypt(encrypted.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            return None


def load_secret_box(settings: Settings) -> SecretBox | None:
    """The configured keys; in development without them, the key in DEVELOPMENT_KEY_FILE, made if
    missing. None in production without them, which Settings allows only with MFA=off."""
    if settings.totp_encryption_keys is not None:
        return SecretBox(keys_of(settings.totp_encryption_keys.get_secret_value()))
    return SecretBox([_development_key()]) if settings.is_development else None


def keys_of(value: str) -> list[bytes]:
    return [key.strip().encode("ascii") for key in value.split(",") if key.strip()]


def _development_key() -> bytes:
    path = DEVELOPMENT_KEY_FILE
    if path.is_file():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Fernet.generate_key()
    try:
        # Exclusive: of two workers starting at once, the second reads the first one's key.
        with path.open("xb") as file:
            path.chmod(0o600)
            file.write(key)
    except FileExistsError:
        return path.read_bytes().strip()
    logger.warning("Created the TOTP encryption key for development in %s (kept out of git)", path)
    return key
