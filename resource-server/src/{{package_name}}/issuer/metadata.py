"""The issuer's metadata (OpenID Connect Discovery 1.0 or RFC 8414): where its keys are, checked to
belong to the issuer that was configured."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from .documents import IssuerUnavailable, JsonDocuments

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class IssuerMetadata:
    issuer: str
    jwks_uri: str
    introspection_endpoint: str | None


async def discover(
    documents: JsonDocuments, issuer: str, locations: tuple[str, ...], *, allow_loopback_http: bool
) -> IssuerMetadata:
    """The first metadata document found at LOCATIONS below ISSUER whose `issuer` is ISSUER exactly
    (RFC 8414 §3.3, OpenID Connect Discovery §4.3): another issuer's would vouch for keys of its own."""
    problems = []
    for location in locations:
        try:
            document = await documents.get(metadata_url(issuer, location))
        except IssuerUnavailable as exc:
            problems.append(str(exc))
            continue
        if document.get("issuer") != issuer:
            raise IssuerUnavailable(f"the metadata names another issuer: {str(document.get('issuer'))[:200]!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not _is_safe_url(jwks_uri, allow_loopback_http):
            raise IssuerUnavailable("the metadata has no https jwks_uri")
        # It is sent this API's client secret and the tokens: over https only, like the keys.
        introspection = document.get("introspection_endpoint")
        if not isinstance(introspection, str) or not _is_safe_url(introspection, allow_loopback_http):
            introspection = None
        return IssuerMetadata(issuer, jwks_uri, introspection)
    raise IssuerUnavailable("; ".join(problems))


def metadata_url(issuer: str, location: str) -> str:
    """OpenID Connect appends the well-known path to the issuer; RFC 8414 §3.1 inserts it before the
    issuer's path (`https://host/.well-known/oauth-authorization-server/tenant`)."""
    if location == "/.well-known/openid-configuration":
        return issuer.rstrip("/") + location
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{parts.netloc}{location}{path}"


def _is_safe_url(url: str, allow_loopback_http: bool) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return allow_loopback_http and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
