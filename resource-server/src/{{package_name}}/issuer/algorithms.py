"""Which JWS algorithms a token may be signed with (RFC 8725 §3.1): never `none`, an HS* one only with a
secret shared on purpose, and for each published key only the algorithm it is for."""

from collections.abc import Mapping
from typing import Any

# The asymmetric algorithms this API verifies (RFC 7518, RFC 8037, RFC 9864).
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
)
SHARED_SECRET = frozenset({"HS256", "HS384", "HS512"})
# RFC 7518 §3.2: an HS* key at least as long as the hash's output; a shorter one can be guessed offline
# from any one token, and then anyone can mint tokens.
SHARED_SECRET_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
# What a key that names no `alg` may verify: by its type and curve, the algorithms issuers use with it.
_BY_KEY = {
    ("RSA", None): frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    ("EC", "P-256"): frozenset({"ES256"}),
    ("EC", "P-384"): frozenset({"ES384"}),
    ("EC", "P-521"): frozenset({"ES512"}),
    ("OKP", "Ed25519"): frozenset({"EdDSA", "Ed25519"}),
}


class AlgorithmError(ValueError):
    """An algorithm allowlist that would let a forged token through."""


def check_allowlist(algorithms: frozenset[str] | None, *, shared_secret: bool) -> None:
    """OAUTH_ALGORITHMS: known algorithms only; HS* with OAUTH_SHARED_SECRET and never beside asymmetric
    ones (a public key must never be taken for a secret); a shared secret needs HS* named explicitly."""
    if algorithms is None:
        if shared_secret:
            raise AlgorithmError("OAUTH_SHARED_SECRET needs OAUTH_ALGORITHMS to name its HS256, HS384 or HS512")
        return
    unknown = algorithms - ASYMMETRIC - SHARED_SECRET
    if unknown:
        raise AlgorithmError(f"OAUTH_ALGORITHMS: unsupported {', '.join(sorted(unknown))} (never `none`)")
    hmac = algorithms & SHARED_SECRET
    if hmac and not shared_secret:
        raise AlgorithmError("OAUTH_ALGORITHMS names an HS* algorithm, which needs OAUTH_SHARED_SECRET")
    if hmac and algorithms - SHARED_SECRET:
        raise AlgorithmError("OAUTH_ALGORITHMS: HS* algorithms cannot be mixed with public-key ones")
    if shared_secret and not hmac:
        raise AlgorithmError("OAUTH_SHARED_SECRET is set, but OAUTH_ALGORITHMS names no HS* algorithm")


def check_shared_secret(secret: bytes, algorithms: frozenset[str]) -> None:
    """OAUTH_SHARED_SECRET: long enough for every HS* algorithm OAUTH_ALGORITHMS names."""
    needed = max((SHARED_SECRET_BYTES[name] for name in algorithms & SHARED_SECRET), default=0)
    if len(secret) < needed:
        raise AlgorithmError(f"OAUTH_SHARED_SECRET must be at least {needed} bytes for {' '.join(sorted(algorithms))}")


def algorithms_for_key(jwk: Mapping[str, Any], allowed: frozenset[str] | None) -> frozenset[str]:
    """The algorithms a published key verifies: its `alg` alone when it names one, else those of its
    type; in both cases only asymmetric ones, and only those ALLOWED (None: any asymmetric one)."""
    usable = allowed if allowed is not None else ASYMMETRIC
    named = jwk.get("alg")
    if isinstance(named, str):
        candidates = frozenset({named})
    else:
        curve = jwk.get("crv") if jwk.get("kty") != "RSA" else None
        candidates = _BY_KEY.get((str(jwk.get("kty")), curve if isinstance(curve, str) else None), frozenset())
    return candidates & usable & ASYMMETRIC
