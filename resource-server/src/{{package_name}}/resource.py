"""This API as a protected resource (RFC 9728): its identifier and where its metadata document is."""

from urllib.parse import urlsplit

from .config import Settings

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def resource_uri(settings: Settings, base_url: str) -> str:
    """RESOURCE_URI; else the audience when it is one URL (RFC 8707 names resources by URL); else the
    URL the request arrived at."""
    if settings.resource_uri is not None:
        return settings.resource_uri
    audiences = settings.oauth_audience.split() if settings.oauth_audience else []
    if len(audiences) == 1 and urlsplit(audiences[0]).scheme in {"https", "http"}:
        return audiences[0]
    return base_url.rstrip("/")


def metadata_url(resource: str) -> str:
    """RFC 9728 §3.1: the well-known path inserted between the host and the resource's path."""
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{parts.path.rstrip('/')}"
