"""A stand-in issuer inside the tests: its metadata and key set served through an ASGI transport (no
network, no process), the keys it signs tokens with, and a count of the key-set fetches the API made."""

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus

import httpx
import jwt as pyjwt
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example"

SigningKey = RSAKey | ECKey | OKPKey


def new_key(algorithm: str) -> SigningKey:
    if algorithm.startswith(("RS", "PS")):
        return RSAKey.generate_key(2048)
    if algorithm in {"ES256", "ES384", "ES512"}:
        return ECKey.generate_key({"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[algorithm])
    return OKPKey.generate_key("Ed25519")


class Unreachable(httpx.AsyncBaseTransport):
    """The issuer's host refusing connections, or the issuer when it answers."""

    def __init__(self, issuer: "LocalIssuer") -> None:
        self._issuer = issuer
        self._answering = httpx.ASGITransport(app=issuer.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._issuer.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        return await self._answering.handle_async_request(request)


class LocalIssuer:
    """Serves {issuer}/.well-known/* and {issuer}/jwks; signs tokens with its newest key by default."""

    def __init__(self, clock: Callable[[], float], issuer: str = ISSUER, algorithm: str = "ES256") -> None:
        self.issuer = issuer
        self.clock = clock
        self.keys: dict[str, tuple[SigningKey, str]] = {}
        self.current = self.add_key(algorithm)
        self.key_set_fetches = 0
        self.unreachable = False
        self.key_set_status = 200
        self.metadata_overrides: dict[str, object] = {}
        self.key_set_override: bytes | None = None
        self.key_set_delay = 0.0  # seconds before the key set is answered: an issuer that hangs
        # Introspection (RFC 7662): the answers for the opaque tokens it issued, and what it saw.
        self.introspection_client = ("api:one", "s3cret/+")
        self.introspection_answers: dict[str, object] = {}
        self.introspection_raw: bytes | None = None
        self.introspection_calls = 0
        self.introspection_delay = 0.0
        self._in_introspection = 0
        self.most_introspections_at_once = 0
        self.app = Starlette(
            routes=[
                Route("/.well-known/oauth-authorization-server", self._metadata),
                # RFC 8414 §3.1: an issuer with a path has its metadata below the well-known one.
                Route("/.well-known/oauth-authorization-server/{path:path}", self._metadata),
                Route("/.well-known/openid-configuration", self._metadata),
                Route("/jwks", self._key_set),
                Route("/introspect", self._introspect, methods=["POST"]),
            ]
        )

    def transport(self) -> httpx.AsyncBaseTransport:
        return Unreachable(self)

    def add_key(self, algorithm: str = "ES256") -> str:
        kid = secrets.token_hex(8)
        self.keys[kid] = (new_key(algorithm), algorithm)
        return kid

    def rotate(self, algorithm: str = "ES256") -> str:
        """A new key published and signing from now on; the old ones stay published."""
        self.current = self.add_key(algorithm)
        return self.current

    def key_set(self) -> dict[str, Any]:
        return {
            "keys": [
                {**key.as_dict(private=False), "kid": kid, "alg": algorithm, "use": "sig"}
                for kid, (key, algorithm) in self.keys.items()
            ]
        }

    def claims(self, **overrides: object) -> dict[str, object]:
        now = int(self.clock())
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "alice",
            "client_id": "app",
            "scope": "profile reports:read",
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_hex(8),
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, kid: str | None = None, header: dict[str, object] | None = None, **claims: object) -> str:
        """A token signed with KID's key (the current one by default); HEADER members replace the usual
        ones, None removes one; CLAIMS likewise."""
        kid = kid or self.current
        key, algorithm = self.keys[kid]
        members: dict[str, object] = {"alg": algorithm, "typ": "at+jwt", "kid": kid, **(header or {})}
        members = {name: value for name, value in members.items() if value is not None}
        return jwt.encode(members, self.claims(**claims), key, algorithms=[str(members["alg"])])

    def token_by_pyjwt(self, header: dict[str, object], **claims: object) -> str:
        """A token signed with the current key by another JOSE library, which lets a test write headers
        joserfc refuses to sign (unknown critical extensions)."""
        key, algorithm = self.keys[self.current]
        members = {"typ": "at+jwt", "kid": self.current, **header}
        return pyjwt.encode(self.claims(**claims), key.as_pem(private=True), algorithm=algorithm, headers=members)

    def hmac_token(self, secret: bytes, algorithm: str = "HS256", **claims: object) -> str:
        """A token MACed with SECRET: what an attacker makes with a public key taken for a shared secret."""
        header = {"alg": algorithm, "typ": "at+jwt", "kid": self.current}
        signing_input = f"{_segment(header)}.{_segment(self.claims(**claims))}"
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[algorithm]
        mac = hmac.new(secret, signing_input.encode(), digest).digest()
        return f"{signing_input}.{_b64(mac)}"

    def unsigned_token(self, **claims: object) -> str:
        """`alg: none` (RFC 7519 §6): a token anyone can make."""
        header = {"alg": "none", "typ": "at+jwt", "kid": self.current}
        return f"{_segment(header)}.{_segment(self.claims(**claims))}."

    async def _metadata(self, _request: Request) -> Response:
        if self.key_set_status != 200:
            return Response(status_code=self.key_set_status)
        document = {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}/jwks",
            "introspection_endpoint": f"{self.issuer}/introspect",
            **self.metadata_overrides,
        }
        return JSONResponse(document)

    async def _key_set(self, _request: Request) -> Response:
        self.key_set_fetches += 1
        if self.key_set_delay:
            await asyncio.sleep(self.key_set_delay)
        if self.key_set_status != 200:
            return Response(status_code=self.key_set_status)
        if self.key_set_override is not None:
            return Response(self.key_set_override, media_type="application/json")
        return JSONResponse(self.key_set())

    async def _introspect(self, request: Request) -> Response:
        self.introspection_calls += 1
        self._in_introspection += 1
        self.most_introspections_at_once = max(self.most_introspections_at_once, self._in_introspection)
        try:
            if self.introspection_delay:
                await asyncio.sleep(self.introspection_delay)
            user, secret = self.introspection_client
            expected = base64.b64encode(f"{quote_plus(user)}:{quote_plus(secret)}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            form = await request.form()
            if self.introspection_raw is not None:
                return Response(self.introspection_raw, media_type="application/json")
            answer = self.introspection_answers.get(str(form.get("token")), {"active": False})
            return JSONResponse(answer)
        finally:
            self._in_introspection -= 1

    def opaque_token(self, **claims: object) -> str:
        """An opaque token the issuer will describe as active, with the usual claims and CLAIMS."""
        token = secrets.token_urlsafe(32)
        self.introspection_answers[token] = {"active": True, **self.claims(**claims)}
        return token


def _segment(value: Mapping[str, object]) -> str:
    return _b64(json.dumps(value).encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
