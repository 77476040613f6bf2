"""OAuth2 errors: RFC 6749 §5.2 at the token endpoint, RFC 7591 §3.2.2 at client registration;
error_handlers.py answers them. Protected resources answer with bearer_challenges.py."""

import re
from typing import ClassVar

from fastapi import status

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BUSY_RETRY_AFTER_SECONDS = "1"
# RFC 6749 §4.1.2.1 and §5.2: an error_description is printable ASCII other than '"' and '\'.
_NOT_IN_A_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


# An error names what was wrong, not all of it: echoed client text is cut to this length.
MAX_DESCRIPTION_LENGTH = 300


def error_description(text: str) -> str:
    """`text` with every character an error_description may not have replaced by '?', cut short."""
    if len(text) > MAX_DESCRIPTION_LENGTH:
        text = text[: MAX_DESCRIPTION_LENGTH - 3] + "..."
    return _NOT_IN_A_DESCRIPTION.sub("?", text)


class OAuthError(Exception):
    """An error answered as RFC 6749 §5.2 says: JSON naming the code, never cached. One subclass per code."""

    error: ClassVar[str]
    status_code: ClassVar[int] = status.HTTP_400_BAD_REQUEST

    def __init__(self, description: str, *, headers: dict[str, str] | None = None) -> None:
        # Descriptions may quote what the client sent (a grant_type, a parameter's name, a scope),
        # which may be any text at all.
        description = error_description(description)
        super().__init__(description)
        self.description = description
        self.headers = headers or {}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed, or a client is needed and none authenticated."""

    error = "invalid_client"
    status_code = status.HTTP_401_UNAUTHORIZED

    def __init__(self, description: str = "Client authentication failed") -> None:
        super().__init__(description)


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class InvalidTarget(OAuthError):
    """A `resource` that is malformed, unknown, or not among those granted (RFC 8707 §2)."""

    error = "invalid_target"


class InvalidRedirectUri(OAuthError):
    """A client registration's redirect URIs that cannot be registered (RFC 7591 §3.2.2)."""

    error = "invalid_redirect_uri"


class InvalidClientMetadata(OAuthError):
    """Any other client metadata a registration cannot take (RFC 7591 §3.2.2)."""

    error = "invalid_client_metadata"


class TooManyAttempts(OAuthError):
    """Failed logins over the limit (RFC 6585 §4); the code is RFC 6749 §4.1.2.1's for a busy server."""

    error = "temporarily_unavailable"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed logins; try again later", headers={"Retry-After": str(retry_after)})


class MethodNotAllowed(InvalidRequest):
    status_code = status.HTTP_405_METHOD_NOT_ALLOWED
