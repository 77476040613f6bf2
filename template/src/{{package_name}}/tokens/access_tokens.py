"""Access tokens: RFC 9068 JWTs, issued and verified with the service's own keys only (joserfc)."""

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol
from joserfc.jws import JWSRegistry
from joserfc.jwt import ClaimsOption, JWTClaimsRegistry

from .retired_keys import in_force, vouches_for
from .signing_keys import JoseKey, KeySet

# RFC 9068 §2.1; the long form is accepted too (§4).
TOKEN_TYPE = "at+jwt"
ACCEPTED_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})


class InvalidTokenError(Exception):
    """The token is malformed, expired, or not one of ours."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    subject: str
    client_id: str
    scopes: frozenset[str]
    issued_at: int
    expires_at: int
    token_id: str
    # The login or authorization code the token descends from: revoking it revokes the token.
    grant_id: str | None
    claims: dict[str, Any]
    # When the retired key that signed it stops verifying (None: a key in service), for the cache.
    key_not_after: int | None = None


def issue_access_token(
    keys: KeySet,
    *,
    issuer: str,
    audience: str | list[str],
    subject: str,
    client_id: str,
    scopes: frozenset[str],
    lifetime_seconds: int,
    grant_id: str | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "client_id": client_id,
        "iat": now,
        "exp": now + lifetime_seconds,
        "jti": secrets.token_urlsafe(16),
    }
    if scopes:
        claims["scope"] = " ".join(sorted(scopes))
    if grant_id is not None:
        claims["grant_id"] = grant_id
    header = {"alg": keys.algorithm, "typ": TOKEN_TYPE, "kid": keys.kid}
    return jwt.encode(header, claims, keys.signing_key, registry=_signatures(keys.algorithm))


def verify_access_token(
    token: str,
    keys: KeySet,
    *,
    issuer: str,
    audience: str | None,
    leeway: int,
    max_lifetime: int,
    clock: Callable[[], float] = time.time,
) -> AccessToken:
    """Check the header, the signature with the pinned algorithm, and every required claim (RFC 9068 §4).

    joserfc checks the form (unpadded base64url segments, RFC 7515 §2; sizes), the algorithm, the
    signature, and the claims: present, `iss` and `aud` ours, NumericDates numbers (RFC 7519 §2) and
    in time, `sub` not empty. AUDIENCE must be among `aud`; None accepts any audience, for the
    introspection of tokens issued for other resources (RFC 8707). The header rules of RFC 9068 and
    RFC 8725 are checked here, before the signature; and no token may live longer than `max_lifetime`
    seconds plus the leeway, so a key that leaked cannot mint tokens for a century. A retired key verifies until its NOT_AFTER, by CLOCK,
    and only tokens issued before its retirement, so one that leaked cannot mint fresh ones."""
    try:
        signed = jws.deserialize_compact(token, _key_for(keys, clock()), registry=_signatures(keys.algorithm))
        claims = json.loads(signed.payload)
        if not isinstance(claims, dict):
            raise InvalidTokenError("the payload is not a JSON object")
        _claims_registry(issuer, audience, leeway, clock).validate(claims)
    except (JoseError, ValueError, RecursionError) as exc:
        raise InvalidTokenError(str(exc)) from None
    if claims["exp"] - claims["iat"] > max_lifetime + leeway:
        raise InvalidTokenError("lives longer than this service issues tokens for")
    kid = signed.headers()["kid"]
    if not vouches_for(keys.retirements, kid, claims["iat"]):
        raise InvalidTokenError("issued after its signing key was retired")
    retirement = keys.retirements.get(kid)
    grant_id = claims.get("grant_id")
    return AccessToken(
        subject=claims["sub"],
        client_id=str(claims["client_id"]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
        token_id=claims["jti"],
        grant_id=None if grant_id is None else str(grant_id),
        claims=claims,
        key_not_after=None if retirement is None else retirement.not_after,
    )


def _key_for(keys: KeySet, now: float) -> Callable[[GuestProtocol], JoseKey]:
    """What joserfc calls with the token's header, before it checks the signature."""

    def key(token: GuestProtocol) -> JoseKey:
        """One of our keys, picked by `kid`: keys carried in the token (jwk, jku, x5u, x5c) are never used."""
        header = token.headers()
        if str(header.get("typ", "")).lower() not in ACCEPTED_TOKEN_TYPES:
            raise InvalidTokenError("not an access token")
        if "crit" in header:
            raise InvalidTokenError("unsupported critical header")
        kid = header.get("kid")
        if not isinstance(kid, str) or kid not in keys.verification_keys or not in_force(keys.retirements, kid, now):
            raise InvalidTokenError("unknown signing key")
        return keys.verification_keys[kid]

    return key


@cache
def _signatures(algorithm: str) -> JWSRegistry:
    """The one algorithm this service signs with; header members it does not know are ignored (RFC 7515 §4)."""
    return JWSRegistry(algorithms=[algorithm], strict_check_header=False)


# Bounded: in development the issuer is the URL a request arrived at, which the client chooses.
@lru_cache(maxsize=16)
def _claims_registry(issuer: str, audience: str | None, leeway: int, clock: Callable[[], float]) -> JWTClaimsRegistry:
    """Every required claim present and not blank (RFC 9068 §2.2); `iss` ours, and `aud` AUDIENCE or,
    when it is an array, holding it."""
    required: ClaimsOption = {"essential": True}
    aud: ClaimsOption = required if audience is None else {"essential": True, "value": audience}
    return JWTClaimsRegistry(
        now=lambda: int(clock()),
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud=aud,
        sub=required,
        exp=required,
        iat=required,
        jti=required,
        client_id=required,
    )
