"""The RS256 key pairs that sign ID tokens, in every variant, read once at start-up.

They are kept apart from the access-token keys: an HS* service shares its access-token secret with
nobody, yet relying parties must verify its ID tokens with a published key. `rotate-key` makes a new
pair and keeps the old public key in ID_TOKEN_PREVIOUS_KEYS_DIR (`RETIRED_AT..NOT_AFTER-KID.pem`, see
retired_keys) until the ID tokens it signed have expired; `rotate-key --prepare` stages the next pair
in ID_TOKEN_NEXT_KEY_FILE, published by every instance before any instance signs with it. The files
are kept as key_files keeps them.
"""

from ..config import Settings
from . import key_files
from .key_files import KeyNames, KeyPairFiles, KeyPairs

ALGORITHM = "RS256"
IdTokenKeySet = KeyPairs


class IdTokenKeyError(Exception):
    """The configured ID token keys cannot be used."""


NAMES = KeyNames(
    key="an ID token key",
    private_key="ID_TOKEN_PRIVATE_KEY",
    private_key_file="ID_TOKEN_KEY_FILE",
    next_key_file="ID_TOKEN_NEXT_KEY_FILE",
    tokens="ID token",
)


def load_id_token_keys(settings: Settings) -> IdTokenKeySet:
    """The current key pair, the unexpired previous public keys and the staged next one."""
    return key_files.load_key_pairs(id_token_key_files(settings))


def check_preparation(settings: Settings) -> None:
    """What `prepare_next_id_token_key` needs, checked before `rotate-key --prepare` stages any key."""
    key_files.check_preparation(id_token_key_files(settings))


def prepare_next_id_token_key(settings: Settings) -> str:
    """Stage the next key pair, to be published by every instance before it signs."""
    return key_files.prepare_next_key_pair(id_token_key_files(settings))


def check_rotation(settings: Settings) -> None:
    """What `rotate_id_token_keys` needs, checked before `rotate-key` rotates any key: so that the
    access-token key is never rotated while this one cannot be."""
    key_files.check_rotation(id_token_key_files(settings))


def rotate_id_token_keys(settings: Settings) -> tuple[str, str]:
    """Sign with the staged next key (or a new one); publish the old public key until its ID tokens expire."""
    return key_files.rotate_key_pairs(id_token_key_files(settings))


def id_token_key_files(settings: Settings) -> KeyPairFiles:
    """Where the settings keep the ID token keys."""
    return KeyPairFiles(
        ALGORITHM,
        NAMES,
        IdTokenKeyError,
        private_key=settings.id_token_private_key,
        private_key_file=settings.id_token_key_file,
        previous_keys_dir=settings.id_token_previous_keys_dir,
        next_key_file=settings.id_token_next_key_file,
        # How long after a rotation an ID token the old key signed may still verify.
        last_token_seconds=settings.id_token_seconds + settings.leeway_seconds,
        development=settings.is_development,
    )
