"""The cookies the pages set: one set of attributes for all, and the `__Host-` prefix behind https."""

from fastapi import Request, Response

from .config import Settings, issuer_of

# Browsers keep a `__Host-` cookie only if it is Secure, for this host alone, on every path
# (RFC 6265bis §4.1.3.2): no sibling subdomain and no other port can set or replace it.
HOST_PREFIX = "__Host-"


def cookie_name(request: Request, settings: Settings, name: str) -> str:
    """NAME, prefixed `__Host-` when the service is reached over https (its ISSUER, or in development
    the request's own base URL)."""
    return HOST_PREFIX + name if issuer_of(request, settings).startswith("https://") else name


def read_cookie(request: Request, settings: Settings, name: str) -> str | None:
    return request.cookies.get(cookie_name(request, settings, name))


def set_cookie(response: Response, request: Request, settings: Settings, name: str, value: str, max_age: int) -> None:
    """An HttpOnly, SameSite=Lax cookie for every path; Secure outside development and behind https."""
    full_name = cookie_name(request, settings, name)
    secure = _is_secure(settings, full_name)
    response.set_cookie(full_name, value, max_age=max_age, path="/", httponly=True, secure=secure, samesite="lax")


def delete_cookie(response: Response, request: Request, settings: Settings, name: str) -> None:
    # With the attributes it was set with: a browser replaces a `__Host-` cookie only with another.
    full_name = cookie_name(request, settings, name)
    secure = _is_secure(settings, full_name)
    response.delete_cookie(full_name, path="/", httponly=True, secure=secure, samesite="lax")


def _is_secure(settings: Settings, full_name: str) -> bool:
    return full_name.startswith(HOST_PREFIX) or not settings.is_development
