"""Protected-resource metadata (RFC 9728): where each resource's document is, and what it says.

The service's own API has its document at `/.well-known/oauth-protected-resource`; a registered
resource whose URI is on the issuer's origin, with a path, has one at that address with the path
appended (§3.1). Resources elsewhere publish their own.
"""

from typing import Any
from urllib.parse import urlsplit

from .resource_indicators import BY_NAME_ONLY, Target

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def own_metadata_url(issuer: str) -> str:
    """The address of the own API's document: what every 401 of a protected route names (§5.1)."""
    return issuer + WELL_KNOWN


def metadata_url(uri: str) -> str:
    """The address of the document of the resource at URI, a URI with a path (§3.1)."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{parts.path}"


def resource_at(issuer: str, path: str) -> str | None:
    """The resource URI whose document `WELL_KNOWN/PATH` is (§3.1): the issuer's origin with PATH;
    None when the issuer cannot be split."""
    parts = urlsplit(issuer)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/{path}"


def document(target: Target, issuer: str) -> dict[str, Any]:
    """The metadata of TARGET (§2): tokens come from this issuer, in the Authorization header only."""
    return {
        "resource": target.uri,
        "authorization_servers": [issuer],
        # Not the operator's scope: like the server's metadata, it offers only what any client may ask for.
        "scopes_supported": sorted(target.scopes - BY_NAME_ONLY),
        "bearer_methods_supported": ["header"],
        "resource_name": target.name,
    }
