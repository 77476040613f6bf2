"""ID tokens (OpenID Connect Core §2): signed with joserfc by the key of the client's chosen algorithm.

RS256, with the service's own ID token keys, for every client unless it chose otherwise; the access
tokens' algorithm, with their keys, for a client registered with `--id-token-alg` and that algorithm,
when those keys are published (an HS* secret is shared with nobody) and sign with another. The header
says `typ: JWT`, which no access token has (they say `at+jwt`), so neither passes for the other.
"""

import base64
import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, Key

from .id_token_keys import ALGORITHM as ID_TOKEN_KEY_ALGORITHM
from .id_token_keys import IdTokenKeySet
from .retired_keys import Retirement, in_force, vouches_for
from .signing_keys import ALGORITHM as ACCESS_TOKEN_ALGORITHM
from .signing_keys import PUBLISHED as ACCESS_TOKEN_KEYS_PUBLISHED
from .signing_keys import KeySet as AccessTokenKeys

DEFAULT_ALGORITHM = ID_TOKEN_KEY_ALGORITHM
# And the access tokens' algorithm when their keys are published: RS256 is offered once if it is theirs too.
ALGORITHMS = (
    tuple(dict.fromkeys([DEFAULT_ALGORITHM, ACCESS_TOKEN_ALGORITHM]))
    if ACCESS_TOKEN_KEYS_PUBLISHED
    else (DEFAULT_ALGORITHM,)
)
TOKEN_TYPE = "JWT"
# Core §3.1.3.6: at_hash is the left half of the access token's hash by the signature's hash function.
# Ed25519 hashes with SHA-512 inside, so EdDSA and Ed25519 take SHA-512 here too.
EDWARDS_CURVE_ALGORITHMS = frozenset({"EdDSA", "Ed25519"})
# A hint longer than this is no ID token of ours.
MAX_HINT_LENGTH = 8192

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Signer:
    kid: str
    key: Key


@dataclass(frozen=True, slots=True)
class Verifier:
    algorithm: str
    key: Key


@dataclass(frozen=True, slots=True)
class IdTokenSigners:
    """A signing key per offered algorithm, and every public key a hint may have been signed with,
    while the retirements of the previous ones allow by `clock`."""

    by_algorithm: Mapping[str, Signer]
    public_keys: Mapping[str, Verifier]  # by kid
    retirements: Mapping[str, Retirement]  # by kid
    clock: Callable[[], float] = time.time


def id_token_signers(
    id_token_keys: IdTokenKeySet, access_token_keys: AccessTokenKeys, clock: Callable[[], float] = time.time
) -> IdTokenSigners:
    """For each of ALGORITHMS, the keys that sign with it: the ID token keys first, so that they keep
    RS256 when the access-token keys sign with it too."""
    signers: dict[str, Signer] = {}
    public_keys: dict[str, Verifier] = {}
    retirements: dict[str, Retirement] = {}
    key_sets: tuple[IdTokenKeySet | AccessTokenKeys, ...] = (id_token_keys, access_token_keys)
    for keys in key_sets:
        if keys.algorithm not in ALGORITHMS or keys.algorithm in signers:
            continue
        signers[keys.algorithm] = Signer(keys.kid, keys.signing_key)
        for kid, key in keys.verification_keys.items():
            public_keys.setdefault(kid, Verifier(keys.algorithm, key))
        retirements |= keys.retirements
    return IdTokenSigners(
        MappingProxyType(signers), MappingProxyType(public_keys), MappingProxyType(retirements), clock
    )


def issue_id_token(
    signers: IdTokenSigners,
    *,
    algorithm: str,
    issuer: str,
    subject: str,
    client_id: str,
    auth_time: int,
    methods: tuple[str, ...],
    level: str,
    lifetime_seconds: int,
    access_token: str,
    nonce: str | None = None,
) -> str:
    """An ID token; METHODS are how the user signed in (`amr`, RFC 8176), LEVEL what they reach (`acr`)."""
    if algorithm not in signers.by_algorithm:
        # Registered for an algorithm this service no longer offers (the project's jwt_algorithm answer changed since):
        # the default still signs, rather than the token request failing after its code was spent.
        logger.warning(
            "Client %s asks for ID tokens signed with %s, not offered: %s", client_id, algorithm, DEFAULT_ALGORITHM
        )
        algorithm = DEFAULT_ALGORITHM
    signer = signers.by_algorithm[algorithm]
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "iat": now,
        "exp": now + lifetime_seconds,
        "auth_time": auth_time,
        "amr": list(methods),
        "acr": level,
        "at_hash": at_hash(access_token, algorithm),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    header = {"alg": algorithm, "typ": TOKEN_TYPE, "kid": signer.kid}
    return jwt.encode(header, claims, signer.key, algorithms=[algorithm])


def at_hash(access_token: str, algorithm: str) -> str:
    hash_name = "sha512" if algorithm in EDWARDS_CURVE_ALGORITHMS else "sha" + algorithm[-3:]
    digest = hashlib.new(hash_name, access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def verified_hint(signers: IdTokenSigners, hint: str, issuer: str) -> dict[str, Any] | None:
    """The claims of an ID token this service issued (expired ones too, as Core §3.1.2.1 and
    RP-Initiated Logout §2 allow for `id_token_hint`), or None for anything else."""
    if len(hint) > MAX_HINT_LENGTH or not hint.isascii():
        return None
    try:
        token = jwt.decode(hint, _key_for(signers), algorithms=list(ALGORITHMS))
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    claims = token.claims
    if token.header.get("typ") != TOKEN_TYPE or claims.get("iss") != issuer or not isinstance(claims.get("sub"), str):
        return None
    if not vouches_for(signers.retirements, token.header["kid"], claims.get("iat")):
        return None  # signed after its key was retired: with a key that leaked, say
    return claims


def _key_for(signers: IdTokenSigners) -> Callable[[GuestProtocol], Key]:
    """What joserfc calls with the hint's header: one of our keys in force, by `kid`, for its own algorithm."""
    now = signers.clock()

    def key(token: GuestProtocol) -> Key:
        header = token.headers()
        kid = header.get("kid")
        found = signers.public_keys.get(kid) if isinstance(kid, str) else None
        if found is None or found.algorithm != header.get("alg") or not in_force(signers.retirements, str(kid), now):
            raise KeyError("not one of our keys in force")
        return found.key

    return key
