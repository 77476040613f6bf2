"""OAuth2 error answers: RFC 6749 §5.2 at the token endpoint, RFC 6750 §3 on protected resources."""

import re
from collections.abc import Awaitable, Callable
from typing import ClassVar

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .app_state import app_state
from .passwords import PasswordHashingBusy

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BUSY_RETRY_AFTER_SECONDS = "1"
UNPROCESSABLE = 422
# The endpoints whose clients understand only RFC 6749 §5.2 errors (RFC 7009 §2.2.1, RFC 7662 §2.3).
OAUTH_ENDPOINTS = frozenset({"token", "revoke", "introspect"})
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


class TooManyAttempts(OAuthError):
    """Failed logins over the limit (RFC 6585 §4); the code is RFC 6749 §4.1.2.1's for a busy server."""

    error = "temporarily_unavailable"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed logins; try again later", headers={"Retry-After": str(retry_after)})


class MethodNotAllowed(InvalidRequest):
    status_code = status.HTTP_405_METHOD_NOT_ALLOWED


def bearer_challenge(realm: str, error: str | None = None, description: str | None = None) -> HTTPException:
    """A 401 whose WWW-Authenticate header follows RFC 6750 §3."""
    challenge = f'Bearer realm="{realm}"'
    if error is not None:
        challenge += f', error="{error}"'
    if description is not None:
        challenge += f', error_description="{description}"'
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


async def _oauth_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    headers = {**NO_STORE, **exc.headers}
    if exc.status_code == status.HTTP_401_UNAUTHORIZED:
        # RFC 6749 §5.2: a failed client authentication names the scheme to use, HTTP Basic here.
        headers["WWW-Authenticate"] = f'Basic realm="{app_state(request.app).settings.realm}"'
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description}, status_code=exc.status_code, headers=headers
    )


def _is_oauth_endpoint(request: Request) -> bool:
    return getattr(request.scope.get("route"), "name", None) in OAUTH_ENDPOINTS


async def _malformed_request(request: Request) -> JSONResponse:
    # Never the parser's own message: it may describe internal state, or quote what was sent.
    return await _oauth_error(request, InvalidRequest("The request is malformed"))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    # A body that cannot be parsed (too large, too many fields, broken multipart) is refused by
    # the framework before the endpoint runs; OAuth clients still get an RFC 6749 error.
    if _is_oauth_endpoint(request) and exc.status_code in {status.HTTP_400_BAD_REQUEST, 413}:
        return await _malformed_request(request)
    if _is_oauth_endpoint(request) and exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        return await _oauth_error(request, MethodNotAllowed("Use POST", headers=dict(exc.headers or {})))
    return await http_exception_handler(request, exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_oauth_endpoint(request):
        return await _malformed_request(request)
    # Where and what, never the value sent: it may be a password, and may not even encode.
    errors = [{"loc": error["loc"], "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=UNPROCESSABLE)


def unavailable(dependency: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A handler for the errors of a lost dependency: 503 and a JSON error, never a stack trace."""

    async def handler(_request: Request, _exc: Exception) -> Response:
        return JSONResponse(
            {"error": "temporarily_unavailable", "error_description": f"The {dependency} is unreachable"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={**NO_STORE, "Retry-After": "5"},
        )

    return handler


async def _busy(_request: Request, _exc: Exception) -> Response:
    # Shed at once rather than queued without bound: the client retries shortly, and every
    # request that needs no password hash goes on being served meanwhile.
    return JSONResponse(
        {"error": "temporarily_unavailable", "error_description": "Too many logins at once; try again shortly"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={**NO_STORE, "Retry-After": BUSY_RETRY_AFTER_SECONDS},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(PasswordHashingBusy, _busy)
