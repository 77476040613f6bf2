"""Key pairs kept in PEM files, and every write of key material: files are written aside and moved into
place, so that no reader sees half a key, and private ones are readable by the owner only.

A purpose's key pairs (the access-token keys, unless an HS* secret signs those; the ID token keys) are
its current private key, the next one that `rotate-key --prepare` stages, and the public keys of the
retired ones in a folder of `RETIRED_AT..NOT_AFTER-KID.pem` files (see retired_keys). `KeyPairFiles`
says where they are and what the messages call them; `load_key_pairs` reads them, once, at start-up,
into `KeyPairs` of joserfc keys, ready for `joserfc.jws` and `joserfc.jwt`.
"""

import functools
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from joserfc.errors import InvalidKeyTypeError, JoseError
from joserfc.jwk import ECKey, JWKRegistry, OKPKey, RSAKey
from pydantic import SecretStr

from .retired_keys import Retirement, in_force, parse_retirement, retire, too_late

AsymmetricKey = RSAKey | ECKey | OKPKey
MIN_RSA_BITS = 2048
# What each algorithm signs with (RFC 7518 §3, RFC 8037, RFC 9864): a key of this type and, but for RSA
# keys (of MIN_RSA_BITS at least, the size of those made here), on this curve.
KEY_TYPES: Mapping[str, tuple[type[AsymmetricKey], str | None]] = {
    **dict.fromkeys(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"], (RSAKey, None)),
    "ES256": (ECKey, "P-256"),
    "ES384": (ECKey, "P-384"),
    "ES512": (ECKey, "P-521"),
    "EdDSA": (OKPKey, "Ed25519"),
    "Ed25519": (OKPKey, "Ed25519"),
}

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KeyNames:
    """What the messages call a purpose's keys, the settings that hold them, and the tokens they sign."""

    key: str  # its current key, with an article: "a private key"
    private_key: str  # the setting that holds the current key itself (PEM)
    private_key_file: str
    next_key_file: str
    tokens: str  # what its keys sign: "token"


@dataclass(frozen=True, slots=True)
class KeyPairFiles:
    """Where a purpose's key pairs are kept, how long a retired one verifies, and what is raised when
    they cannot be used."""

    algorithm: str
    names: KeyNames
    error: type[Exception]
    private_key: SecretStr | None  # the current key from the environment, instead of private_key_file
    private_key_file: Path
    previous_keys_dir: Path
    next_key_file: Path
    # How long after a rotation a token that the old key signed may still verify.
    last_token_seconds: int
    development: bool  # a missing current key is then made, rather than refused


@dataclass(frozen=True, slots=True)
class KeyPairs:
    algorithm: str
    kid: str  # the signing key's: its RFC 7638 thumbprint
    signing_key: AsymmetricKey  # holds the private key
    verification_keys: Mapping[str, AsymmetricKey]  # public parts only, by kid; the signing key's own included
    # Of the previous keys, by kid: when each stops verifying, and which tokens it vouches for.
    retirements: Mapping[str, Retirement]

    def jwks(self, now: float) -> dict[str, list[dict[str, object]]]:
        """The public keys that verify at NOW as an RFC 7517 JWK Set: never anything private."""
        return {
            "keys": [
                {**key.as_dict(private=False), "kid": kid, "alg": self.algorithm, "use": "sig"}
                for kid, key in self.verification_keys.items()
                if in_force(self.retirements, kid, now)
            ]
        }


def load_key_pairs(files: KeyPairFiles) -> KeyPairs:
    """The current key pair, the unexpired previous public keys and the staged next one; in
    development, the current key is made if there is none."""
    names = files.names
    signing_key = _load_private_key(files)
    kid = signing_key.thumbprint()
    keys = {kid: _public(signing_key)}
    retirements: dict[str, Retirement] = {}
    now = time.time()
    for previous, retirement in _previous_key_files(files, now):
        if too_late(retirement, now):
            raise files.error(
                f"{previous}: it verifies until {retirement.not_after}, later than any {names.tokens} may live "
                "(a day and the largest leeway from now)"
            )
        key = _parse(files, previous.read_bytes(), f"{previous}", private=False)
        keys.setdefault(key.thumbprint(), key)
        retirements.setdefault(key.thumbprint(), retirement)
    if files.next_key_file.is_file():
        staged = _parse(files, files.next_key_file.read_bytes(), names.next_key_file, private=True)
        keys.setdefault(staged.thumbprint(), _public(staged))
    retirements.pop(kid, None)  # signing again: it vouches for every token
    return KeyPairs(files.algorithm, kid, signing_key, MappingProxyType(keys), MappingProxyType(retirements))


def check_preparation(files: KeyPairFiles) -> None:
    """What `prepare_next_key_pair` needs, checked before it stages anything."""
    if files.next_key_file.exists():
        raise files.error(f"{files.next_key_file} holds a next key already: rotate-key signs with it")


def prepare_next_key_pair(files: KeyPairFiles) -> str:
    """Stage the next key pair, to be published and trusted by every instance before it signs; its kid."""
    check_preparation(files)
    files.next_key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = _generate(files.algorithm)
    write_atomically(files.next_key_file, key.as_pem(private=True), 0o600, replace=False)
    return key.thumbprint()


def check_rotation(files: KeyPairFiles) -> KeyPairs:
    """What `rotate_key_pairs` needs, checked before it changes anything: the keys as they are."""
    if files.private_key is not None:
        raise files.error(
            f"{files.names.private_key} comes from the environment: set a new one there and put the old public "
            f"key in {files.previous_keys_dir} as RETIRED_AT..NOT_AFTER-KID.pem (Unix seconds: now, and now plus "
            f"the {files.names.tokens} lifetime and leeway)"
        )
    return load_key_pairs(files)  # the staged next key included


def rotate_key_pairs(files: KeyPairFiles) -> tuple[str, str]:
    """Sign with the staged next key (or a new one); keep the old public key until its tokens have
    expired. The old kid and the new one."""
    old = check_rotation(files)
    now = time.time()
    retirement = retire(now, files.last_token_seconds)
    files.previous_keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    retired = files.previous_keys_dir / f"{retirement}-{old.kid}.pem"
    write_atomically(retired, old.signing_key.as_pem(private=False), 0o644)
    kept = {path for path, _ in _previous_key_files(files, now)}
    for expired in set(files.previous_keys_dir.glob("*.pem")) - kept:
        expired.unlink()
    staged = files.next_key_file
    if staged.is_file():
        new_key = _parse(files, staged.read_bytes(), files.names.next_key_file, private=True)
    else:
        new_key = _generate(files.algorithm)
    write_atomically(files.private_key_file, new_key.as_pem(private=True), 0o600)
    staged.unlink(missing_ok=True)
    return old.kid, new_key.thumbprint()


def write_atomically(path: Path, content: bytes, mode: int, replace: bool = True) -> None:
    """Write aside with MODE, then move into place: readers never see half a key. Without REPLACE,
    raises FileExistsError if PATH exists."""
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


def _load_private_key(files: KeyPairFiles) -> AsymmetricKey:
    names = files.names
    if files.private_key is not None:
        return _parse(files, files.private_key.get_secret_value().encode(), names.private_key, private=True)
    path = files.private_key_file
    if path.is_file():
        return _parse(files, path.read_bytes(), names.private_key_file, private=True)
    if not files.development:
        raise files.error(
            f"{names.key} is required in production: set {names.private_key} or {names.private_key_file} "
            f"({path} does not exist)"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = _generate(files.algorithm)
    try:
        write_atomically(path, key.as_pem(private=True), 0o600, replace=False)
    except FileExistsError:  # another worker was first: use its key
        return _parse(files, path.read_bytes(), names.private_key_file, private=True)
    logger.warning("Created %s for development in %s (kept out of git)", names.key, path)
    return key


def _previous_key_files(files: KeyPairFiles, now: float) -> list[tuple[Path, Retirement]]:
    """Files named RETIRED_AT..NOT_AFTER-KID.pem (or NOT_AFTER-KID.pem) whose NOT_AFTER has not passed."""
    found = []
    for path in sorted(files.previous_keys_dir.glob("*.pem")):
        retirement = parse_retirement(path.name.partition("-")[0], files.last_token_seconds)
        if retirement is not None and retirement.in_force(now):
            found.append((path, retirement))
    return found


def _parse(files: KeyPairFiles, pem: bytes, source: str, *, private: bool) -> AsymmetricKey:
    """The key in PEM, checked: of the algorithm's type and strength, private or public as asked."""
    error = files.error
    key_type, curve = KEY_TYPES[files.algorithm]
    try:
        key = _imported(key_type, pem)
        key_curve = None if isinstance(key, RSAKey) else key.curve_name
    except InvalidKeyTypeError:
        raise error(f"{source}: {files.algorithm} needs an {key_type.key_type} key") from None
    except KeyError as exc:  # joserfc names only the curves that JOSE registers
        raise error(f"{source}: {files.algorithm} needs a key on the {curve} curve, not {exc.args[0]}") from None
    except (JoseError, ValueError, TypeError) as exc:
        raise error(f"{source} is not an {key_type.key_type} PEM key: {type(exc).__name__}") from None
    if key.is_private != private:
        held, wanted = ("private", "public") if key.is_private else ("public", "private")
        raise error(f"{source} holds a {held} key; it must be the {wanted} key")
    if isinstance(key, RSAKey) and key.public_key.key_size < MIN_RSA_BITS:
        size = key.public_key.key_size
        raise error(f"{source}: {files.algorithm} needs an RSA key of at least {MIN_RSA_BITS} bits, not {size}")
    if key_curve != curve:
        raise error(f"{source}: {files.algorithm} needs a key on the {curve} curve, not {key_curve}")
    return key


@functools.lru_cache(maxsize=16)
def _imported(key_type: type[AsymmetricKey], pem: bytes) -> AsymmetricKey:
    """The key in PEM. Importing an RSA key checks its numbers, some 40 ms: an app made again in the same
    process (a test's, a reload's) imports a key it has read before once. Failures are not kept."""
    return key_type.import_key(pem)


def _public(key: AsymmetricKey) -> AsymmetricKey:
    return type(key).import_key(key.as_dict(private=False))


def _generate(algorithm: str) -> AsymmetricKey:
    key_type, curve = KEY_TYPES[algorithm]
    key = JWKRegistry.generate_key(key_type.key_type, curve or MIN_RSA_BITS, private=True)
    assert isinstance(key, key_type)  # joserfc makes a key of the type asked for
    return key
