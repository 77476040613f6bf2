"""The errors of a protected resource (RFC 6750 §3): a 401 challenge, naming where the resource's
metadata is (RFC 9728 §5.1), and a 403 naming the scopes a route needs."""

from fastapi import HTTPException, status


def bearer_challenge(
    realm: str, error: str | None = None, description: str | None = None, *, resource_metadata: str | None = None
) -> HTTPException:
    """A 401 whose WWW-Authenticate header follows RFC 6750 §3, and names where the resource's
    metadata is (RFC 9728 §5.1) when RESOURCE_METADATA is given."""
    challenge = f'Bearer realm="{realm}"'
    if error is not None:
        challenge += f', error="{error}"'
    if description is not None:
        challenge += f', error_description="{description}"'
    if resource_metadata is not None:
        challenge += f', resource_metadata="{resource_metadata}"'
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=description or "Not authenticated",
        headers={"WWW-Authenticate": challenge},
    )


def insufficient_scope(realm: str, scope: str) -> HTTPException:
    """A 403 naming the scopes the resource needs (RFC 6750 §3.1)."""
    return HTTPException(
        status_code=status.HTTP_403_FORBIDDEN,
        detail=f"This resource needs the scope: {scope}",
        headers={"WWW-Authenticate": f'Bearer realm="{realm}", error="insufficient_scope", scope="{scope}"'},
    )
