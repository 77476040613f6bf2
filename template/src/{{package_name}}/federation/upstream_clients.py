"""This service as an OAuth2 client of the upstream providers: their metadata and keys (fetched when
first needed, and kept a while), the authorization URL with PKCE and a nonce, the code exchange
(httpx-oauth), and the checks of what comes back: an OpenID provider's ID token, every claim of it
(joserfc), or a GitHub-style API's user and verified addresses."""

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_oauth.oauth2 import BaseOAuth2, OAuth2ClientAuthMethod, OAuth2RequestError
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from ..storage.database import can_hold
from ..upstream_providers import LOOPBACK_HOSTS, UpstreamProvider

# ID tokens are accepted signed with these alone (RFC 8725 §3.1), and only those of them the
# provider's metadata names: never `none`, never an HMAC keyed with a secret the client knows too.
ACCEPTED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
# A provider's metadata and keys are fetched again after this long; keys too when a token names
# one they lack, at most this often (a provider rotating its keys, or a forger asking for fetches).
METADATA_SECONDS = 3600
KEYS_REFETCH_SECONDS = 60
# After metadata that could not be fetched, sign-ins through the provider are refused at once this long.
FAILURE_SECONDS = 10
# Clocks of two machines differ: an ID token is accepted this far out of its times.
LEEWAY_SECONDS = 60
# What a provider may answer with at most: its documents are small.
MAX_DOCUMENT_BYTES = 512 * 1024
# What a user's profile is read from: the ID token's, where it has them, win over UserInfo's.
PROFILE_CLAIMS = ("email", "email_verified", "preferred_username", "name")
# The identities table's limit; and GitHub's user ids, far below it.
MAX_SUBJECT_LENGTH = 255
MAX_USER_ID = 10**18
# GitHub's REST API asks for this media type and version.
GITHUB_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
USER_AGENT = "oauth-upstream-client"

logger = logging.getLogger(__name__)


class UpstreamRefused(Exception):
    """What came back from the provider fails a check: the reason, for the log and the audit trail
    (never a token or a code); the page says less."""


@dataclass(frozen=True, slots=True)
class UpstreamAccount:
    """Who the provider says signed in."""

    subject: str
    # The address, and whether the provider vouches that its owner proved it.
    email: str | None
    email_verified: bool
    preferred_username: str | None
    name: str | None
    # Whether the provider says the user gave two factors (`amr` holding `mfa`).
    multi_factor: bool


class _OAuth2(BaseOAuth2[dict[str, Any]]):
    """httpx-oauth's client on the registry's connection pool, with its timeouts."""

    def __init__(self, http: httpx.AsyncClient, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = http

    def get_httpx_client(self) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        return contextlib.nullcontext(self._http)


@dataclass(slots=True)
class _Metadata:
    document: dict[str, Any]
    keys: KeySet
    fetched_at: float
    keys_fetched_at: float


class UpstreamClient:
    """One provider's client. Each exchange with the provider gets TIMEOUT_SECONDS in all."""

    def __init__(self, provider: UpstreamProvider, http: httpx.AsyncClient, timeout_seconds: float) -> None:
        self.provider = provider
        self._http = http
        self._timeout = timeout_seconds
        self._metadata: _Metadata | None = None
        # When the metadata could last not be fetched: every sign-in in the next seconds is refused at
        # once, rather than each waiting for a provider that is down.
        self._failed_at = -float(FAILURE_SECONDS)
        self._lock = asyncio.Lock()

    async def authorization_url(
        self, redirect_uri: str, state: str, code_challenge: str, nonce: str, *, reauthenticate: bool = False
    ) -> str:
        """Where to send the browser; REAUTHENTICATE asks an OpenID provider to have the user sign in
        again (`prompt=login`), as the client here asked of this service."""
        oauth, endpoint_query = await self._oauth()
        extras = dict(endpoint_query)
        if self.provider.kind == "oidc":
            extras["nonce"] = nonce
            if reauthenticate:
                extras["prompt"] = "login"
        return await oauth.get_authorization_url(
            redirect_uri,
            state=state,
            scope=list(self.provider.scopes),
            code_challenge=code_challenge,
            code_challenge_method="S256",
            extras_params=extras,
        )

    async def account(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str,
        nonce: str,
        iss: str | None,
        signed_in_since: int | None = None,
    ) -> UpstreamAccount:
        """The account whose CODE this is; UpstreamRefused when anything about it fails a check.
        SIGNED_IN_SINCE: the user must have signed in at the provider since then, where it says when."""
        if self.provider.kind == "oidc":
            metadata = await self._fetched_metadata()
            self._check_iss(metadata.document, iss)
        oauth, _query = await self._oauth()
        try:
            async with asyncio.timeout(self._timeout):
                token = await oauth.get_access_token(code, redirect_uri, code_verifier)
        except OAuth2RequestError as exc:
            status = exc.response.status_code if exc.response is not None else "no answer"
            raise UpstreamRefused(f"the token endpoint refused the code ({status})") from None
        except TimeoutError:
            raise UpstreamRefused("the token endpoint did not answer in time") from None
        except (ValueError, TypeError, ArithmeticError):
            # httpx-oauth reads any JSON: a list, or an `expires_in` that is no number (or 1e999), fails there.
            raise UpstreamRefused("the token endpoint's answer cannot be read") from None
        # GitHub answers a refused code with 200 and an `error`.
        if "error" in token or not isinstance(token.get("access_token"), str):
            raise UpstreamRefused("the token endpoint answered without an access token")
        if self.provider.kind == "oidc":
            return await self._id_token_account(token.get("id_token"), token["access_token"], nonce, signed_in_since)
        return await self._api_account(token["access_token"])

    def _check_iss(self, metadata: dict[str, Any], iss: str | None) -> None:
        # RFC 9207 §2.4: a provider that says it sends `iss` must, and every `iss` must be the issuer.
        if iss is None and metadata.get("authorization_response_iss_parameter_supported") is True:
            raise UpstreamRefused("the authorization response has no iss")
        if iss is not None and iss != self.provider.issuer:
            raise UpstreamRefused("the authorization response came from another issuer (iss)")

    async def _id_token_account(
        self, id_token: object, access_token: str, nonce: str, signed_in_since: int | None
    ) -> UpstreamAccount:
        if not isinstance(id_token, str):
            raise UpstreamRefused("the token response has no ID token")
        metadata = await self._fetched_metadata()
        algorithms = self._algorithms(metadata.document)
        claims = await self._verified_claims(id_token, metadata, algorithms)
        issuer, client_id = self.provider.identity_issuer, self.provider.client_id
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise UpstreamRefused(f"the ID token fails a check ({exc.error})") from None
        # Core §3.1.3.7: the client is an audience, and the authorized party when there are others.
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or client_id not in audiences:
            raise UpstreamRefused("the ID token is for another client (aud)")
        azp = claims.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != client_id:
            raise UpstreamRefused("the ID token is for another client (azp)")
        subject = claims["sub"]
        if not _storable(subject):
            raise UpstreamRefused("the ID token's subject is not printable text of at most 255 characters")
        auth_time = claims.get("auth_time")
        # Asked for a fresh sign-in, the provider must say when the user signed in (Core §3.1.2.1).
        if signed_in_since is not None and not _signed_in_since(auth_time, signed_in_since - LEEWAY_SECONDS):
            raise UpstreamRefused("the provider did not have the user sign in again (auth_time)")
        amr = claims.get("amr")
        profile = await self._profile(metadata.document, access_token, subject, claims)
        return UpstreamAccount(
            subject=subject,
            email=_text(profile.get("email"), 320),
            email_verified=profile.get("email_verified") is True,
            preferred_username=_text(profile.get("preferred_username"), 150),
            name=_text(profile.get("name"), 255),
            multi_factor=isinstance(amr, list) and "mfa" in amr,
        )

    async def _profile(
        self, document: dict[str, Any], access_token: str, subject: str, claims: dict[str, Any]
    ) -> dict[str, Any]:
        """The user's address and names: from the ID token when it has them (Google's, Keycloak's), else
        from the UserInfo endpoint (Core §5.3), whose `sub` must be the ID token's (§5.3.2)."""
        endpoint = document.get("userinfo_endpoint")
        if "email" in claims or not isinstance(endpoint, str):
            return claims
        userinfo = await self._json(endpoint, {"Authorization": f"Bearer {access_token}"})
        if not isinstance(userinfo, dict) or userinfo.get("sub") != subject:
            raise UpstreamRefused("the UserInfo response is about another subject")
        return {**userinfo, **{name: value for name, value in claims.items() if name in PROFILE_CLAIMS}}

    def _algorithms(self, document: dict[str, Any]) -> list[str]:
        offered = document.get("id_token_signing_alg_values_supported")
        names = offered if isinstance(offered, list) else []
        algorithms = [name for name in ACCEPTED_ALGORITHMS if name in names]
        if not algorithms:
            raise UpstreamRefused("the provider signs ID tokens with no algorithm accepted here")
        return algorithms

    async def _verified_claims(self, id_token: str, metadata: _Metadata, algorithms: list[str]) -> dict[str, Any]:
        try:
            return _decoded(id_token, metadata.keys, algorithms)
        except _UnknownKey:
            pass
        keys = await self._refetched_keys(metadata)
        try:
            return _decoded(id_token, keys, algorithms)
        except _UnknownKey:
            raise UpstreamRefused("the ID token is signed by a key the provider does not publish") from None

    async def _api_account(self, access_token: str) -> UpstreamAccount:
        api = (self.provider.api_url or "").rstrip("/")
        headers = {**GITHUB_HEADERS, "Authorization": f"Bearer {access_token}"}
        user = await self._json(f"{api}/user", headers)
        emails = await self._json(f"{api}/user/emails", headers)
        user_id = user.get("id") if isinstance(user, dict) else None
        if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < MAX_USER_ID:
            raise UpstreamRefused("the provider's API answered without a user id")
        verified = [
            entry["email"]
            for entry in (emails if isinstance(emails, list) else [])
            if isinstance(entry, dict) and entry.get("verified") is True and isinstance(entry.get("email"), str)
        ]
        primary = [
            entry["email"]
            for entry in (emails if isinstance(emails, list) else [])
            if isinstance(entry, dict) and entry.get("primary") is True and entry.get("email") in verified
        ]
        email = _text((primary or verified or [None])[0], 320)
        return UpstreamAccount(
            subject=str(user_id),
            email=email,
            email_verified=email is not None,
            preferred_username=_text(user.get("login"), 150),
            name=_text(user.get("name"), 255),
            multi_factor=False,
        )

    async def _oauth(self) -> tuple[_OAuth2, list[tuple[str, str]]]:
        """httpx-oauth's client for the provider, and the query its authorization endpoint has already
        (Microsoft's and Okta's may): httpx-oauth would append a second `?`."""
        provider = self.provider
        if provider.kind == "github":
            authorize, token_url = provider.authorize_url or "", provider.token_url or ""
            method: OAuth2ClientAuthMethod = "client_secret_post"
        else:
            document = (await self._fetched_metadata()).document
            authorize, token_url = document["authorization_endpoint"], document["token_endpoint"]
            methods = document.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
            # Basic is the default (OpenID Connect Discovery §3), and keeps the secret out of the body.
            method = "client_secret_post" if "client_secret_basic" not in methods else "client_secret_basic"
        endpoint = httpx.URL(authorize)
        oauth = _OAuth2(
            self._http,
            provider.client_id,
            provider.client_secret,
            str(endpoint.copy_with(query=None)),
            token_url,
            name=provider.name,
            token_endpoint_auth_method=method,
        )
        return oauth, list(endpoint.params.multi_items())

    async def _fetched_metadata(self) -> _Metadata:
        """The provider's metadata and keys, fetched again after METADATA_SECONDS; while a new fetch
        fails, the last good ones serve on, and it is tried again a minute later."""
        if self._metadata is not None and time.monotonic() - self._metadata.fetched_at < METADATA_SECONDS:
            return self._metadata
        async with self._lock:
            now = time.monotonic()
            if self._metadata is not None and now - self._metadata.fetched_at < METADATA_SECONDS:
                return self._metadata
            if self._metadata is None and now - self._failed_at < FAILURE_SECONDS:
                raise UpstreamRefused("the provider's metadata could not be fetched a moment ago")
            try:
                self._metadata = await self._new_metadata()
            except UpstreamRefused as exc:
                if self._metadata is None:
                    self._failed_at = time.monotonic()
                    raise
                logger.warning(
                    "provider %s: new metadata refused (%s); the last good ones serve on", self.provider.name, exc
                )
                self._metadata.fetched_at = time.monotonic() - METADATA_SECONDS + KEYS_REFETCH_SECONDS
            return self._metadata

    async def _new_metadata(self) -> _Metadata:
        issuer = self.provider.issuer or ""
        document = await self._json(f"{issuer.rstrip('/')}/.well-known/openid-configuration", {})
        if not isinstance(document, dict) or document.get("issuer") != issuer:
            # OpenID Connect Discovery §4.3: the metadata of another issuer is no one's.
            raise UpstreamRefused("the provider's metadata names another issuer")
        for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
            value = document.get(endpoint)
            if (value is not None or endpoint != "userinfo_endpoint") and not self._acceptable(value):
                raise UpstreamRefused(f"the provider's metadata has no usable {endpoint}")
        keys = await self._key_set(document["jwks_uri"])
        now = time.monotonic()
        return _Metadata(document, keys, now, now)

    def _acceptable(self, url: object) -> bool:
        """Whether URL is one to send codes, secrets and tokens to: https, as the provider's own
        address must be (http only on this machine, in development)."""
        if not isinstance(url, str):
            return False
        try:
            parts = httpx.URL(url)
        except (httpx.InvalidURL, ValueError):
            return False
        loopback = parts.scheme == "http" and parts.host in LOOPBACK_HOSTS and self.provider.allows_loopback
        port_ok = parts.port is None or 0 < parts.port < 65536
        return (
            (parts.scheme == "https" or loopback)
            and bool(parts.host)
            and port_ok
            and not parts.userinfo
            and not parts.fragment
        )

    async def _refetched_keys(self, metadata: _Metadata) -> KeySet:
        async with self._lock:
            if time.monotonic() - metadata.keys_fetched_at >= KEYS_REFETCH_SECONDS:
                metadata.keys = await self._key_set(metadata.document["jwks_uri"])
                metadata.keys_fetched_at = time.monotonic()
            return metadata.keys

    async def _key_set(self, jwks_uri: str) -> KeySet:
        document = await self._json(jwks_uri, {})
        try:
            return KeySet.import_key_set(document)
        except (JoseError, ValueError, TypeError, KeyError):
            raise UpstreamRefused("the provider's key set cannot be read") from None

    async def _json(self, url: str, headers: dict[str, str]) -> Any:
        """The JSON at URL, read within the time allowed and up to MAX_DOCUMENT_BYTES."""
        path = _path_of(url)
        try:
            async with asyncio.timeout(self._timeout):
                request = self._http.stream("GET", url, headers={"Accept": "application/json", **headers})
                async with request as response:
                    if response.status_code != httpx.codes.OK:
                        raise UpstreamRefused(f"the provider answered {response.status_code} at {path}")
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_DOCUMENT_BYTES:
                            raise UpstreamRefused(f"the provider's answer at {path} is too large")
        except TimeoutError:
            raise UpstreamRefused(f"the provider did not answer in time at {path}") from None
        except (httpx.HTTPError, httpx.InvalidURL, OverflowError) as exc:
            raise UpstreamRefused(f"the provider could not be reached ({type(exc).__name__})") from None
        try:
            return json.loads(body)
        except ValueError:
            raise UpstreamRefused(f"the provider's answer at {path} is no JSON") from None


def _path_of(url: str) -> str:
    try:
        return httpx.URL(url).path[:100]
    except (httpx.InvalidURL, ValueError):
        return "(an invalid URL)"


class _UnknownKey(Exception):
    pass


def _decoded(id_token: str, keys: KeySet, algorithms: list[str]) -> dict[str, Any]:
    try:
        token = jwt.decode(id_token, keys, algorithms=algorithms)
    except InvalidKeyIdError:
        raise _UnknownKey from None
    except JoseError as exc:
        raise UpstreamRefused(f"the ID token's signature fails ({exc.error})") from None
    except (ValueError, TypeError, KeyError, UnicodeError):
        raise UpstreamRefused("the ID token cannot be read") from None
    return dict(token.claims)


def _signed_in_since(auth_time: object, since: float) -> bool:
    return isinstance(auth_time, int | float) and not isinstance(auth_time, bool) and auth_time >= since


def _storable(subject: object) -> bool:
    """Whether SUBJECT can be an identity's subject: printable text that every database holds."""
    return (
        isinstance(subject, str)
        and 0 < len(subject) <= MAX_SUBJECT_LENGTH
        and subject.isprintable()
        and can_hold(subject)
    )


def _text(value: object, limit: int) -> str | None:
    return (
        value
        if isinstance(value, str) and 0 < len(value) <= limit and value.isprintable() and can_hold(value)
        else None
    )


class UpstreamClients:
    """The clients of every configured provider, on one connection pool, for the app's lifetime."""

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._http: httpx.AsyncClient | None = None
        self._clients: dict[str, UpstreamClient] = {}

    def client(self, provider: UpstreamProvider) -> UpstreamClient:
        if provider.name not in self._clients:
            if self._http is None:
                # Made at the first sign-in through a provider: its TLS context reads the trust store.
                self._http = httpx.AsyncClient(
                    timeout=self._timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
                )
            self._clients[provider.name] = UpstreamClient(provider, self._http, self._timeout)
        return self._clients[provider.name]

    async def aclose(self) -> None:
        http, self._http = self._http, None
        self._clients.clear()
        if http is not None:
            await http.aclose()
