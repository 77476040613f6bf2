"""Verifying an access token (RFC 9068 §4, RFC 8725): the algorithm pinned by the key, the signature,
`iss` exact, `aud` naming this API, `exp`/`nbf`/`iat` with leeway, and the preset's rules that tell an
access token from an ID token. joserfc does the JOSE; nothing in the token chooses how it is checked."""

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import Key, OctKey
from joserfc.jws import JWSRegistry
from joserfc.jwt import JWTClaimsRegistry

from ..issuer.documents import refuse_constant
from ..issuer.keys import IssuerKeys, PublishedKey
from ..issuer.presets import Preset
from .introspection import IntrospectionFailed, Introspector
from .verified_tokens import VerifiedTokens

# RFC 9068 §2.1; the long form is accepted too (§4).
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
# An introspection answer's `token_type` for a bearer access token: RFC 7662 §2.2 means RFC 6749's type
# (`Bearer`); some issuers (IdentityServer) name the kind instead. Anything else is not one, such as a
# refresh token (`refresh_token`) or a DPoP-bound token (`DPoP`), which issuers introspect just as well.
INTROSPECTED_ACCESS_TOKEN_TYPES = frozenset({"bearer", "access_token"})
# Larger than any issuer's tokens (Entra's with many groups stay under 8 KB); checked before parsing.
MAX_TOKEN_LENGTH = 16 * 1024


class InvalidTokenError(Exception):
    """The token is malformed, expired, not for this API, or not signed by the issuer."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    subject: str
    client_id: str | None
    scopes: frozenset[str]
    roles: frozenset[str]
    expires_at: int
    claims: dict[str, Any]


@dataclass(frozen=True)
class TokenRules:
    """What a token must be, from the settings."""

    issuer: str
    audiences: frozenset[str]
    preset: Preset
    require_at_jwt: bool
    leeway_seconds: int
    # Set only for an issuer that shares an HS* secret with this API; then only these algorithms.
    shared_secret: bytes | None = None
    shared_secret_algorithms: frozenset[str] = frozenset()


class TokenVerifier:
    """Verifies tokens for one API; a reused token (the usual case) is verified once and then found in
    a bounded cache, still checked for expiry and for its key still being published."""

    def __init__(
        self,
        rules: TokenRules,
        keys: IssuerKeys,
        clock: Callable[[], float] = time.time,
        introspector: Introspector | None = None,
    ) -> None:
        self._rules = rules
        self._keys = keys
        self._clock = clock
        self._introspector = introspector
        self._claims = JWTClaimsRegistry(
            now=lambda: int(clock()),
            leeway=rules.leeway_seconds,
            iss={"essential": True, "value": rules.issuer},
            sub={"essential": True},
            exp={"essential": True},
        )
        # An introspection answer need not name the issuer (RFC 7662 §2.2); when it does, it must be ours.
        self._introspected_claims = JWTClaimsRegistry(
            now=lambda: int(clock()),
            leeway=rules.leeway_seconds,
            iss={"value": rules.issuer},
            sub={"essential": True},
            exp={"essential": True},
        )
        self._secret = OctKey.import_key(rules.shared_secret) if rules.shared_secret is not None else None
        self._verified = VerifiedTokens(clock=clock)

    async def verify(self, token: str) -> AccessToken:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError("too long")
        cached = self._verified.get(token, self._rules.leeway_seconds)
        if cached is not None:
            access, published = cached
            if published is None:
                return access  # the shared secret, which does not change while the process runs
            # The same key still published: not merely its kid, which an issuer may give a new key.
            current = self._keys.known(published.kid)
            if current is not None and current.thumbprint == published.thumbprint:
                return access
        if self._introspector is not None and token.count(".") != 2:
            return await self._introspected(self._introspector, token)
        try:
            header = jws.extract_compact(token.encode()).headers()
        except (JoseError, ValueError, UnicodeError, RecursionError):
            raise InvalidTokenError("malformed") from None
        algorithm, kid = _checked_header(header, self._rules)
        key, published = await self._key_for(algorithm, kid)
        try:
            signed = jws.deserialize_compact(token, key, registry=_only(algorithm))
            claims = json.loads(signed.payload, parse_constant=refuse_constant)
            if not isinstance(claims, dict):
                raise InvalidTokenError("the payload is not a JSON object")
            self._claims.validate(claims)
        except (JoseError, ValueError, RecursionError) as exc:
            raise InvalidTokenError(str(exc)) from None
        access = _access_token(claims, self._rules)
        self._verified.put(token, access, published)
        return access

    async def _introspected(self, introspector: Introspector, token: str) -> AccessToken:
        """An opaque token, as the issuer describes it: active, and then held to the same claim rules."""
        try:
            claims = await introspector.introspect(token)
        except IntrospectionFailed:
            raise InvalidTokenError("the issuer could not say whether it is active") from None
        if claims is None:
            raise InvalidTokenError("not active")
        try:
            self._introspected_claims.validate(claims)
        except (JoseError, ValueError) as exc:
            raise InvalidTokenError(str(exc)) from None
        kind = claims.get("token_type", "bearer")
        if not isinstance(kind, str) or kind.lower() not in INTROSPECTED_ACCESS_TOKEN_TYPES:
            raise InvalidTokenError("not an access token (token_type)")
        if claims.get("token_use", "access_token") != "access_token":  # Ory Hydra's refresh tokens
            raise InvalidTokenError("not an access token (token_use)")
        return _access_token(claims, self._rules)

    async def _key_for(self, algorithm: str, kid: str | None) -> tuple[Key, PublishedKey | None]:
        """The key that verifies ALGORITHM for KID, and the published one it is (None: the shared secret)."""
        if self._secret is not None:
            if algorithm not in self._rules.shared_secret_algorithms:
                raise InvalidTokenError("signed with an algorithm this API does not accept")
            return self._secret, None
        published = await self._keys.find(kid)
        if published is None:
            raise InvalidTokenError("signed with a key the issuer does not publish")
        if algorithm not in published.algorithms:
            raise InvalidTokenError("signed with an algorithm its key is not for")
        return published.key, published


def _checked_header(header: Mapping[str, Any], rules: TokenRules) -> tuple[str, str | None]:
    """The algorithm and key id a token names, after the header rules: keys carried in the token
    (jwk, jku, x5u, x5c) are never used, critical extensions are refused (RFC 7515 §4.1.11)."""
    algorithm = header.get("alg")
    kid = header.get("kid")
    if not isinstance(algorithm, str) or algorithm == "none":
        raise InvalidTokenError("no usable algorithm")
    if kid is not None and not isinstance(kid, str):
        raise InvalidTokenError("malformed kid")
    if "crit" in header:
        raise InvalidTokenError("unsupported critical header")
    if rules.require_at_jwt and str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
        raise InvalidTokenError("not an access token (typ)")
    return algorithm, kid


def _access_token(claims: dict[str, Any], rules: TokenRules) -> AccessToken:
    """The claims checked against the audience and the preset's conventions, as an AccessToken."""
    preset = rules.preset
    # A sender-constrained token (RFC 7800: DPoP's or mTLS's key) is good only with a proof of that key,
    # which this API does not check: taken as a bearer token, a stolen one would work (RFC 9449 §7.1).
    if "cnf" in claims:
        raise InvalidTokenError("bound to a key (cnf), not a bearer token")
    audience = claims.get(preset.audience_claim)
    named = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if not any(isinstance(value, str) and value in rules.audiences for value in named):
        raise InvalidTokenError("not for this API (audience)")
    for claim, value in preset.required_values.items():
        if claims.get(claim) != value:
            raise InvalidTokenError(f"not an access token ({claim})")
    if preset.required_any and not any(claim in claims for claim in preset.required_any):
        raise InvalidTokenError("not an access token")
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise InvalidTokenError("no subject")
    client = next((claims[name] for name in preset.client_claims if isinstance(claims.get(name), str)), None)
    return AccessToken(
        subject=subject,
        client_id=client,
        scopes=frozenset(word for name in preset.scope_claims for word in _words(claims, name)),
        roles=frozenset(role for path in preset.role_claims for role in _words(claims, path, arrays_only=True)),
        expires_at=int(claims["exp"]),
        claims=claims,
    )


def _words(claims: dict[str, Any], path: str, *, arrays_only: bool = False) -> list[str]:
    """The strings at PATH (dotted, into nested objects): an array of strings, or (unless ARRAYS_ONLY)
    a space-separated string (RFC 8693 §4.2)."""
    value: Any = claims
    for name in path.split("."):
        value = value.get(name) if isinstance(value, dict) else None
    if value is None:
        return []
    if isinstance(value, str) and not arrays_only:
        return value.split()
    if isinstance(value, list) and all(isinstance(word, str) for word in value):
        return value
    raise InvalidTokenError(f"malformed {path}")


@cache
def _only(algorithm: str) -> JWSRegistry:
    """A registry that verifies ALGORITHM and no other; header members it does not know are ignored."""
    return JWSRegistry(algorithms=[algorithm], strict_check_header=False)
