"""How the application answers errors: OAuth2 errors in RFC form, the admin API's as problem details,
malformed requests, lost dependencies and a full password-hashing queue, never with a stack trace."""

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .accounts.passwords import PasswordHashingBusy
from .app_state import app_state
from .errors import BUSY_RETRY_AFTER_SECONDS, NO_STORE, InvalidRequest, MethodNotAllowed, OAuthError

UNPROCESSABLE = 422
# The endpoints whose clients understand only RFC 6749 §5.2 errors (RFC 7009 §2.2.1, RFC 7662 §2.3).
OAUTH_ENDPOINTS = frozenset({"token", "revoke", "introspect"})
# The tag of the admin API's routes (routes/admin/), which answer errors as RFC 9457 problem details.
ADMIN_TAG = "admin"
PROBLEM_JSON = "application/problem+json"


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


def _is_admin_route(request: Request) -> bool:
    return ADMIN_TAG in getattr(request.scope.get("route"), "tags", ())


def problem(
    status_code: int, detail: str | None = None, headers: dict[str, str] | None = None, **extensions: Any
) -> JSONResponse:
    """An RFC 9457 problem: no `type` beyond the status (`about:blank`), a DETAIL for people, EXTENSIONS."""
    title = HTTPStatus(status_code).phrase
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status_code}
    if detail is not None and detail != title:
        body["detail"] = detail
    return JSONResponse(body | extensions, status_code, headers=headers, media_type=PROBLEM_JSON)


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
    if _is_admin_route(request):
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem(exc.status_code, detail, headers=dict(exc.headers or {}))
    return await http_exception_handler(request, exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_oauth_endpoint(request):
        return await _malformed_request(request)
    # Where and what, never the value sent: it may be a password, and may not even encode.
    errors = [{"loc": error["loc"], "msg": error["msg"], "type": error["type"]} for error in exc.errors()]
    if _is_admin_route(request):
        return problem(UNPROCESSABLE, "The request is invalid", errors=errors)
    return JSONResponse({"detail": errors}, status_code=UNPROCESSABLE)


def unavailable(dependency: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A handler for the errors of a lost dependency: 503 and a JSON error, never a stack trace."""

    async def handler(request: Request, _exc: Exception) -> Response:
        description, headers = f"The {dependency} is unreachable", {**NO_STORE, "Retry-After": "5"}
        if _is_admin_route(request):
            return problem(status.HTTP_503_SERVICE_UNAVAILABLE, description, headers)
        return JSONResponse(
            {"error": "temporarily_unavailable", "error_description": description},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers=headers,
        )

    return handler


async def _busy(request: Request, _exc: Exception) -> Response:
    # Shed at once rather than queued without bound: the client retries shortly, and every
    # request that needs no password hash goes on being served meanwhile.
    description = "Too many logins at once; try again shortly"
    headers = {**NO_STORE, "Retry-After": BUSY_RETRY_AFTER_SECONDS}
    if _is_admin_route(request):
        # A user created with a password through the admin API.
        return problem(status.HTTP_503_SERVICE_UNAVAILABLE, description, headers)
    return JSONResponse(
        {"error": "temporarily_unavailable", "error_description": description},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(PasswordHashingBusy, _busy)
